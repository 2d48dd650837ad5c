## Quyền mà mỗi phạm vi (scope) cho phép cổng dịch vụ, như trang đồng ý liệt kê, bằng
## tiếng Việt. Mỗi id ở đây cũng có trong en/scopes.ftl.

scope-openid = Biết bạn là ai (mã định danh đăng nhập)
scope-profile = Xem họ tên, ngày sinh, giới tính và các thông tin hồ sơ khác của bạn (ảnh, ngôn ngữ, múi giờ)
scope-email = Xem địa chỉ thư điện tử của bạn
scope-phone = Xem số điện thoại của bạn
scope-address = Xem địa chỉ liên hệ của bạn
scope-national-id = Xem số định danh cá nhân, nơi sinh và quốc tịch của bạn (và mã số thuế đối với doanh nghiệp)
scope-enterprise = Xem các doanh nghiệp mà bạn là người đại diện (mã số thuế, theo chứng thư số của bạn)
scope-offline-access = Duy trì kết nối khi bạn không sử dụng (cho đến khi bạn thu hồi quyền)
scope-other = Quyền truy cập khác

## Các thông tin cổng dịch vụ đề nghị xem riêng (tham số `claims`), như trang đồng ý
## liệt kê.
claim-name = Họ và tên của bạn
claim-given-name = Tên của bạn
claim-family-name = Họ của bạn
claim-birthdate = Ngày sinh của bạn
claim-updated-at = Thời điểm thông tin của bạn được cập nhật gần nhất
claim-account-kind = Loại tài khoản của bạn (công dân, doanh nghiệp hoặc cán bộ, công chức)
claim-email = Địa chỉ thư điện tử của bạn
claim-email-verified = Địa chỉ thư điện tử của bạn đã được xác thực hay chưa
claim-phone-number = Số điện thoại của bạn
claim-phone-number-verified = Số điện thoại của bạn đã được xác thực hay chưa
claim-address = Địa chỉ liên hệ của bạn
claim-national-id = Số định danh cá nhân của bạn
claim-national-id-verified = Số định danh cá nhân của bạn đã được xác thực hay chưa
claim-tax-code = Mã số thuế của bạn
claim-represents = Các doanh nghiệp mà bạn đại diện
claim-middle-name = Tên đệm của bạn
claim-nickname = Tên thường gọi của bạn
claim-preferred-username = Tên người dùng bạn muốn hiển thị
claim-profile = Địa chỉ trang thông tin cá nhân của bạn
claim-picture = Ảnh đại diện của bạn
claim-website = Trang web của bạn
claim-gender = Giới tính của bạn
claim-zoneinfo = Múi giờ của bạn
claim-locale = Ngôn ngữ và khu vực của bạn
claim-place-of-birth = Nơi sinh của bạn
claim-nationalities = Quốc tịch của bạn
claim-other = Thông tin khác về bạn
