## Quyền mà mỗi phạm vi (scope) cho phép cổng dịch vụ, như trang đồng ý liệt kê, bằng
## tiếng Việt. Mỗi id ở đây cũng có trong en/scopes.ftl.

scope-openid = Biết bạn là ai (mã định danh đăng nhập)
scope-profile = Xem họ tên và ngày sinh của bạn
scope-email = Xem địa chỉ thư điện tử của bạn
scope-phone = Xem số điện thoại của bạn
scope-address = Xem địa chỉ liên hệ của bạn
scope-national-id = Xem số định danh cá nhân của bạn (và mã số thuế đối với doanh nghiệp)
scope-offline-access = Duy trì kết nối khi bạn không sử dụng (cho đến khi bạn thu hồi quyền)
scope-other = Quyền truy cập khác
