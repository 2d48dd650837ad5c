// Passkeys (WebAuthn): the only script Portico's pages load, on the pages that need it.
// Without it the passkey option stays hidden: elements marked data-passkey are revealed
// here, when the browser has WebAuthn.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) return;
  document.querySelectorAll("[data-passkey]").forEach(function (el) { el.hidden = false; });
  document.querySelectorAll("[data-passkey-absent]").forEach(function (el) { el.hidden = true; });

  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function opt(b) { return b == null ? null : toB64url(b); }

  // A sign-in: PublicKeyCredentialRequestOptions -> the assertion as JSON.
  function get(options) {
    var pk = options.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return navigator.credentials.get({ publicKey: pk }).then(function (cred) {
      return {
        id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
        extensions: cred.getClientExtensionResults(),
        response: {
          authenticatorData: toB64url(cred.response.authenticatorData),
          clientDataJSON: toB64url(cred.response.clientDataJSON),
          signature: toB64url(cred.response.signature),
          userHandle: opt(cred.response.userHandle)
        }
      };
    });
  }
  // A registration: PublicKeyCredentialCreationOptions -> the attestation as JSON.
  function create(options) {
    var pk = options.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return navigator.credentials.create({ publicKey: pk }).then(function (cred) {
      return {
        id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
        extensions: cred.getClientExtensionResults(),
        response: {
          attestationObject: toB64url(cred.response.attestationObject),
          clientDataJSON: toB64url(cred.response.clientDataJSON),
          transports: cred.response.getTransports ? cred.response.getTransports() : null
        }
      };
    });
  }

  // A form with data-webauthn="get|create": its button runs the ceremony with the
  // options in its <script type="application/json"> and posts the credential.
  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var options = JSON.parse(form.querySelector("script[type='application/json']").textContent);
      var run = form.dataset.webauthn === "create" ? create : get;
      var failed = form.querySelector("[data-passkey-failed]");
      run(options).then(function (credential) {
        form.querySelector("input[name='credential']").value = JSON.stringify(credential);
        form.submit();
      }, function () {
        if (failed) failed.hidden = false;
      });
    });
  });
})();
