## Văn bản trên các trang, bằng tiếng Việt (ngôn ngữ mặc định). Mỗi id ở đây cũng có
## trong en/pages.ftl.

## Mọi trang

brand-tagline = Hệ thống đăng nhập quốc gia
# Tên ngôn ngữ của tệp này, viết bằng chính ngôn ngữ đó: nút chuyển ngôn ngữ trên trang
# bằng ngôn ngữ kia hiển thị tên này.
language-name = Tiếng Việt
language-switcher = Ngôn ngữ

## Đăng nhập

login-title = Đăng nhập
login-lead = để tiếp tục sử dụng { $portal }
login-lead-account = để vào tài khoản Portico của bạn
login-username = Tên đăng nhập
login-password = Mật khẩu
login-submit = Đăng nhập
# Tên mặc định của nguồn đăng nhập bằng mật khẩu, khi quản trị viên không đặt tên.
source-password = Tên đăng nhập và mật khẩu
source-x509 = Chứng thư số
source-webauthn = Khóa truy cập (passkey)

## Đồng ý chia sẻ thông tin

consent-title = Đồng ý chia sẻ thông tin cá nhân?
consent-lead = { $portal } đề nghị được:
consent-allow = Đồng ý
consent-deny = Từ chối
consent-note = Bạn có thể rút lại sự đồng ý này tại trang tài khoản của mình.
consent-claims-lead = Cổng dịch vụ cũng đề nghị được xem riêng các thông tin sau:

## Tài khoản

account-title = Tài khoản của bạn
account-kind-citizen = công dân
account-kind-enterprise = doanh nghiệp
account-kind-official = cán bộ, công chức
account-no-name = (chưa có tên)
account-sessions-heading = Các phiên đăng nhập đang hoạt động
# Tiếng Việt chỉ có dạng số nhiều "other" (CLDR).
account-sessions-count =
    { $count ->
       *[other] Bạn đang đăng nhập trên { $count } thiết bị.
    }
account-this-browser = (trình duyệt này)
account-unknown-device = Thiết bị không xác định
account-session-detail = Đăng nhập lúc { $since } bằng { $source }; sử dụng gần nhất lúc { $last }
account-no-portal = Chưa sử dụng cổng dịch vụ nào
account-portals =
    { $count ->
       *[other] Cổng dịch vụ đã sử dụng ({ $count }): { $portals }
    }
account-end-session = Kết thúc phiên này
account-consents-heading = Các cổng dịch vụ bạn đã cho phép
account-consents-lead = Các cổng dịch vụ này được nhận những thông tin dưới đây về bạn. Khi bạn rút lại quyền, cổng dịch vụ mất quyền truy cập ngay và phải xin phép bạn lại.
account-no-consent = Bạn chưa cho phép cổng dịch vụ nào.
account-consent-since = Đã cho phép từ { $since }
account-withdraw-consent = Rút lại quyền của cổng dịch vụ này

## Đăng xuất

logout-title = Đăng xuất
logout-question = Đăng xuất khỏi Portico?
logout-asked-by = { $portal } đề nghị đăng xuất tài khoản của bạn.
logout-explanation = Khi đăng xuất, phiên đăng nhập của bạn sẽ kết thúc tại tất cả các cổng dịch vụ đã sử dụng trong phiên.
logout-redirect-refused = Địa chỉ mà cổng dịch vụ yêu cầu quay lại chưa được đăng ký cho cổng này: sau khi đăng xuất, bạn sẽ ở lại trang này.
logout-confirm = Đăng xuất
logout-stay = Duy trì đăng nhập
logged-out-title = Bạn đã đăng xuất
logged-out-message = Phiên đăng nhập của bạn đã kết thúc tại Portico và tại các cổng dịch vụ bạn đã sử dụng trong phiên.
logged-out-frame = Đang đăng xuất khỏi cổng dịch vụ
logged-out-return = Quay lại cổng dịch vụ
still-signed-in-title = Bạn vẫn đang đăng nhập
still-signed-in-message = Không có thay đổi nào. Bạn có thể đóng trang này.
login-code = Mã xác thực
login-other-way = Chọn hình thức đăng nhập khác

# Nguồn sms_otp
source-sms-otp = Số điện thoại di động
sms-number = Số điện thoại di động của bạn
mobile-connect-number = Số điện thoại di động của bạn (nhà mạng sẽ gửi yêu cầu xác nhận tới điện thoại)
mobile-connect-continue = Tiếp tục
sms-send-code = Gửi mã cho tôi
sms-code = Mã gồm sáu chữ số đã gửi đến điện thoại của bạn
sms-resend = Gửi mã mới
sms-code-message = Mã xác thực Portico của bạn là { $code }. Mã có hiệu lực { $minutes } phút. Không cung cấp mã này cho người khác.
## Khóa truy cập (passkey)
passkey-sign-in = Đăng nhập bằng khóa truy cập
passkey-sign-in-lead = Dùng khóa truy cập đã lưu trên thiết bị này hoặc trên điện thoại của bạn.
passkey-needs-script = Để đăng nhập bằng khóa truy cập, trình duyệt cần bật JavaScript và hỗ trợ khóa truy cập.
passkey-failed = Chưa dùng được khóa truy cập. Vui lòng thử lại hoặc chọn cách đăng nhập khác.
passkey-heading = Khóa truy cập
passkey-none = Bạn chưa có khóa truy cập nào.
passkey-add = Thêm khóa truy cập
passkey-register-title = Thêm khóa truy cập
passkey-register = Tạo khóa truy cập
passkey-name = Tên khóa truy cập
passkey-default-name = Khóa truy cập
passkey-created = Thêm lúc
passkey-last-used = dùng lần cuối
passkey-rename = Đổi tên
passkey-remove = Xóa
passkey-back = Quay lại trang tài khoản
passkey-reauth-title = Vui lòng đăng nhập lại
passkey-reauth-message = Để thêm khóa truy cập, bạn phải đăng nhập trong vòng 10 phút gần nhất. Vui lòng đăng xuất, đăng nhập lại rồi thêm khóa truy cập.
passkey-failed-title = Chưa thêm được khóa truy cập
passkey-expired = Yêu cầu thêm khóa truy cập đã hết hạn hoặc đã được dùng. Vui lòng bắt đầu lại từ trang tài khoản.
passkey-invalid = Không xác minh được khóa truy cập. Vui lòng bắt đầu lại từ trang tài khoản.
passkey-duplicate = Khóa truy cập này đã được đăng ký.
account-logins-heading = Các cách đăng nhập của bạn
account-logins-lead = Mỗi cách đăng nhập dưới đây đều mở tài khoản này. Bạn có thể liên kết thêm cách đăng nhập khác hoặc gỡ bỏ cách không còn dùng; không thể gỡ bỏ cách đăng nhập cuối cùng.
account-login-detail = Liên kết lúc { $since }; dùng lần cuối { $last }
account-login-never-used = chưa dùng
account-login-remove = Gỡ bỏ cách đăng nhập này
account-login-last = Đây là cách đăng nhập duy nhất của bạn nên không thể gỡ bỏ.
account-link-lead = Để liên kết thêm cách đăng nhập, bạn có thể phải đăng nhập lại trước (cần đăng nhập trong vòng 10 phút gần nhất).
account-link-source = Liên kết tài khoản { $source }
account-link-failed-title = Không liên kết được cách đăng nhập
account-link-elsewhere = Tài khoản { $source } này đã thuộc về một tài khoản khác. Chưa có gì được liên kết và hai tài khoản không bị gộp: hãy đăng nhập bằng tài khoản đó để dùng tài khoản kia, hoặc gỡ bỏ nó khỏi tài khoản kia trước.
