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

  // The username field's autofill request (conditional mediation), while one runs: a
  // browser runs one WebAuthn request at a time, so the button aborts it first.
  var autofill = null;
  function abortAutofill() {
    if (autofill) { autofill.abort(); autofill = null; }
  }

  // A sign-in: PublicKeyCredentialRequestOptions -> the assertion as JSON. `extra` adds
  // mediation and an abort signal for the autofill request.
  function get(options, extra) {
    var pk = options.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    var request = { publicKey: pk };
    if (extra) { request.mediation = extra.mediation; request.signal = extra.signal; }
    return navigator.credentials.get(request).then(function (cred) {
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
      abortAutofill();
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

  // The login page: the username field (autocomplete="username webauthn") also lists
  // the person's passkeys, when the browser can. Only then is an attempt begun (the
  // server writes one per request, never one per page view); picking a passkey posts
  // the assertion with that attempt, as the button's form does. Any refusal leaves the
  // page as it is: the button still works.
  var autofillForm = document.querySelector("form[data-passkey-autofill]");
  var conditional = PublicKeyCredential.isConditionalMediationAvailable;
  if (autofillForm && conditional) {
    document.querySelectorAll("[data-passkey] a").forEach(function (a) {
      a.addEventListener("click", abortAutofill);
    });
    conditional.call(PublicKeyCredential).then(function (available) {
      if (!available || autofill) return;
      var controller = new AbortController();
      autofill = controller;
      var body = new URLSearchParams();
      body.set("request", autofillForm.elements.request.value);
      body.set("csrf", autofillForm.elements.csrf.value);
      return fetch(autofillForm.dataset.passkeyAutofill, {
        method: "POST", body: body, credentials: "same-origin", signal: controller.signal
      }).then(function (response) {
        if (!response.ok) throw new Error("no autofill: " + response.status);
        return response.json();
      }).then(function (begun) {
        return get(begun.options, { mediation: "conditional", signal: controller.signal })
          .then(function (credential) {
            autofill = null;
            autofillForm.action = begun.action;
            autofillForm.elements.attempt.value = begun.attempt;
            autofillForm.elements.credential.value = JSON.stringify(credential);
            autofillForm.submit();
          });
      });
    }).catch(function () {
      // Aborted for the button, dismissed, or refused: the page stays as it is.
    });
  }
})();
