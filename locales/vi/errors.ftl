## Thông báo khi có lỗi, bằng tiếng Việt. Mỗi id ở đây cũng có trong en/errors.ftl.
## Trường `error_description` gửi cho các cổng dịch vụ vẫn bằng tiếng Anh, không nằm ở đây.

## Trang báo lỗi

error-code = Mã lỗi:
error-technical-detail = Chi tiết kỹ thuật:
error-advice = Vui lòng quay lại cổng dịch vụ bạn đã truy cập và thực hiện lại. Nếu lỗi vẫn tiếp diễn, hãy liên hệ bộ phận hỗ trợ của cổng dịch vụ đó.
error-unavailable-title = Tạm thời không thể đăng nhập
error-unavailable-message = Hệ thống đăng nhập hiện không kết nối được tới cơ sở dữ liệu. Vui lòng thử lại sau ít phút.
error-server-title = Đã xảy ra lỗi
error-server-message = Hệ thống đăng nhập không thể hoàn tất yêu cầu của bạn.
error-unknown-portal-title = Cổng dịch vụ không xác định
error-unknown-portal-message = Cổng dịch vụ đã chuyển bạn đến đây chưa được đăng ký với hệ thống đăng nhập này.
error-invalid-link-title = Đường dẫn đăng nhập không hợp lệ
error-invalid-link-message = Yêu cầu đăng nhập do cổng dịch vụ gửi đến không hợp lệ.
error-expired-title = Phiên đăng nhập đã hết hạn
error-expired-message = Yêu cầu đăng nhập không còn hiệu lực do đã quá thời gian cho phép hoặc đã được hoàn tất trước đó.
error-wrong-browser-title = Yêu cầu đăng nhập thuộc về trình duyệt khác
error-wrong-browser-message = Yêu cầu đăng nhập này được bắt đầu trên một trình duyệt khác, hoặc trình duyệt của bạn đang chặn cookie.
error-not-your-session-title = Vui lòng đăng nhập lại
error-not-your-session-message = Trang xác nhận đồng ý này thuộc về một phiên đăng nhập khác.
error-csrf-title = Không thể tiếp nhận biểu mẫu
error-csrf-message = Mã bảo mật của biểu mẫu bị thiếu hoặc không hợp lệ (CSRF). Vui lòng quay lại, tải lại trang và thử lại.
error-not-found-title = Không tìm thấy trang
error-not-found-message = Không có trang nào tại địa chỉ này.

## Lý do một nguồn đăng nhập không xác thực được người dùng. Mỗi thông báo nêu tên
## nguồn: $source là tên hiển thị của nguồn.

refusal-rejected-password = { $source }: tên đăng nhập hoặc mật khẩu không đúng
refusal-rejected = { $source }: thông tin đăng nhập không được chấp nhận
# $field là một trong các văn bản refusal-field-*.
refusal-incomplete = { $source }: chưa nhập đủ thông tin (còn thiếu { $field })
refusal-field-username = tên đăng nhập
refusal-field-password = mật khẩu
refusal-unavailable = { $source }: hình thức đăng nhập này tạm thời không khả dụng
refusal-too-many-attempts = { $source }: bạn đã thử quá số lần cho phép; vui lòng đợi vài phút rồi thử lại
refusal-expired = { $source }: lượt đăng nhập này đã hết hạn; vui lòng thực hiện lại
# Trang báo sự cố của một nguồn không kiểm tra được (không phải lỗi của người dùng).
login-outage = { $source }: hệ thống tạm thời không thể kiểm tra mật khẩu. Vui lòng thử lại sau.
refusal-wrong-answer = { $source }: mã hoặc câu trả lời không đúng
# Thông tin đăng nhập đúng, nhưng nguồn này không được phép tạo tài khoản mới.
login-no-account = { $source }: chưa có tài khoản nào gắn với thông tin đăng nhập này
# Đăng nhập bị từ chối trước khi kiểm tra: sai quá nhiều lần với tài khoản hoặc địa chỉ
# này (trả lời như nhau dù tài khoản có tồn tại hay không).
login-try-later = Bạn đã đăng nhập sai quá nhiều lần. Vui lòng thử lại sau khoảng { $minutes } phút.
error-attempt-gone-title = Lượt đăng nhập này không còn hiệu lực
error-attempt-gone-message = Lượt đăng nhập đã hoàn tất, đã hết hạn hoặc đường liên kết đã được sử dụng. Vui lòng quay lại cổng dịch vụ và đăng nhập lại.
error-source-not-offered-title = Hình thức đăng nhập này không được hỗ trợ tại đây
error-source-not-offered-message = Cổng dịch vụ yêu cầu mức độ bảo đảm cao hơn mức mà hình thức đăng nhập này đáp ứng, hoặc hình thức này chưa được cấu hình. Vui lòng quay lại và chọn hình thức khác.
