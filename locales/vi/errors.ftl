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
# Đăng nhập bằng tin nhắn mà số điện thoại là số đã xác thực của nhiều tài khoản (số
# điện thoại có thể được cấp lại cho người khác): không đăng nhập vào tài khoản nào.
login-phone-ambiguous = { $source }: số điện thoại này đang được ghi nhận là số đã xác thực của nhiều tài khoản nên hệ thống không xác định được tài khoản của bạn. Chưa có đăng nhập nào được thực hiện. Vui lòng đăng nhập bằng hình thức khác hoặc liên hệ bộ phận hỗ trợ để điều chỉnh số điện thoại của các tài khoản.
# Đăng nhập bị từ chối trước khi kiểm tra: sai quá nhiều lần với tài khoản hoặc địa chỉ
# này (trả lời như nhau dù tài khoản có tồn tại hay không).
login-try-later = Bạn đã đăng nhập sai quá nhiều lần. Vui lòng thử lại sau khoảng { $minutes } phút.
error-attempt-gone-title = Lượt đăng nhập này không còn hiệu lực
error-attempt-gone-message = Lượt đăng nhập đã hoàn tất, đã hết hạn hoặc đường liên kết đã được sử dụng. Vui lòng quay lại cổng dịch vụ và đăng nhập lại.
error-source-not-offered-title = Hình thức đăng nhập này không được hỗ trợ tại đây
error-source-not-offered-message = Cổng dịch vụ yêu cầu mức độ bảo đảm cao hơn mức mà hình thức đăng nhập này đáp ứng, hoặc hình thức này chưa được cấu hình. Vui lòng quay lại và chọn hình thức khác.

# Nhà cung cấp định danh bên ngoài (kind = "oidc") không xác nhận được người dùng.
# Trang đăng nhập được hiển thị lại cùng các hình thức đăng nhập khác.
refusal-upstream-cancelled = { $source }: bạn đã hủy đăng nhập. Vui lòng chọn hình thức đăng nhập khác hoặc thử lại.
refusal-upstream-timeout = { $source } không phản hồi kịp thời. Vui lòng chọn hình thức đăng nhập khác hoặc thử lại sau.
refusal-upstream-unreachable = Hiện không thể kết nối tới { $source }. Vui lòng chọn hình thức đăng nhập khác hoặc thử lại sau.
refusal-upstream-bad-signature = { $source }: không xác thực được kết quả trả về (chữ ký không hợp lệ) nên kết quả không được chấp nhận. Vui lòng chọn hình thức đăng nhập khác.
refusal-upstream-wrong-nonce = { $source }: kết quả trả về không thuộc lượt đăng nhập này nên không được chấp nhận. Vui lòng thực hiện lại hoặc chọn hình thức đăng nhập khác.
refusal-upstream-wrong-issuer = { $source }: kết quả trả về đến từ một nhà cung cấp định danh khác nên không được chấp nhận. Vui lòng chọn hình thức đăng nhập khác.
refusal-upstream-error = { $source } đã từ chối lượt đăng nhập. Vui lòng chọn hình thức đăng nhập khác hoặc thử lại sau.
refusal-upstream-invalid = { $source }: kết quả trả về không hợp lệ nên không được chấp nhận. Vui lòng chọn hình thức đăng nhập khác.
# Trình duyệt quay lại từ nhà cung cấp bên ngoài với một lượt đăng nhập đã hoàn tất,
# đã hết hạn hoặc đã được sử dụng (gửi lại kết quả).
error-callback-gone-message = Kết quả từ { $source } thuộc về một lượt đăng nhập đã hoàn tất, đã hết hạn hoặc đã được sử dụng. Chưa có đăng nhập nào được thực hiện. Vui lòng quay lại cổng dịch vụ và đăng nhập lại bằng { $source } hoặc hình thức khác.
## Đăng nhập bằng chứng thư số (kind = "x509"): các trang từ chối.
cert-try-again = Thử lại
cert-other-way = Đăng nhập bằng cách khác
cert-no-certificate-title = Chưa có chứng thư số nào được gửi
cert-no-certificate-message = Trình duyệt chưa gửi chứng thư số. Vui lòng cắm thiết bị USB Token hoặc thẻ thông minh, kiểm tra phần mềm điều khiển của thiết bị đang chạy, sau đó bấm "Thử lại" và chọn chứng thư số khi trình duyệt hỏi.
cert-expired-title = Chứng thư số đã hết hạn
cert-expired-message = Chứng thư số bạn chọn đã hết thời hạn hiệu lực. Vui lòng chọn chứng thư số còn hiệu lực, hoặc liên hệ tổ chức cung cấp dịch vụ chứng thực chữ ký số đã cấp để gia hạn.
cert-not-yet-valid-title = Chứng thư số chưa có hiệu lực
cert-not-yet-valid-message = Chứng thư số bạn chọn chưa đến thời điểm có hiệu lực. Vui lòng kiểm tra ngày giờ trên máy tính, hoặc thử lại khi chứng thư số đã có hiệu lực.
cert-unknown-issuer-title = Chứng thư số không được công nhận
cert-unknown-issuer-message = Chứng thư số không do tổ chức chứng thực mà hệ thống tin cậy cấp, hoặc không kiểm tra được tính hợp lệ. Vui lòng sử dụng chứng thư số được cấp dưới hệ thống chứng thực chữ ký số quốc gia.
cert-wrong-usage-title = Chứng thư số này không dùng để đăng nhập được
cert-wrong-usage-message = Chứng thư số không được cấp cho mục đích xác thực người dùng. Nếu thiết bị có nhiều chứng thư số, vui lòng thử lại và chọn chứng thư số khác; nếu không, đề nghị tổ chức chứng thực cấp chứng thư số cho phép đăng nhập.
cert-revoked-title = Chứng thư số đã bị thu hồi
cert-revoked-message = Tổ chức chứng thực đã thu hồi chứng thư số này nên không thể tiếp tục sử dụng. Vui lòng liên hệ tổ chức chứng thực để được cấp chứng thư số mới.
cert-revocation-unknown-title = Chưa kiểm tra được trạng thái chứng thư số
cert-revocation-unknown-message = Hệ thống chưa xác nhận được với tổ chức chứng thực rằng chứng thư số này chưa bị thu hồi. Tình trạng này thường chỉ tạm thời: vui lòng thử lại sau vài phút hoặc đăng nhập bằng cách khác.
cert-no-identifier-title = Chứng thư số không có số định danh
cert-no-identifier-message = Chứng thư số hợp lệ nhưng không chứa số căn cước công dân hoặc mã số thuế mà hệ thống đọc được. Vui lòng dùng chứng thư số cá nhân có số căn cước công dân, hoặc chứng thư số doanh nghiệp có mã số thuế.
refusal-field-phone = số điện thoại di động
refusal-not-a-mobile-number = Đây không phải là số điện thoại di động Việt Nam. Vui lòng nhập theo dạng 0912 345 678 hoặc +84 912 345 678.
refusal-resend-too-soon = Mã vừa được gửi chưa đến một phút; hệ thống chưa gửi mã mới. Vui lòng đợi một phút rồi yêu cầu lại.
refusal-send-limit = Đã có quá nhiều yêu cầu gửi mã tới số điện thoại này hoặc từ mạng bạn đang sử dụng. Hệ thống không gửi mã; vui lòng thử lại sau một giờ hoặc chọn hình thức đăng nhập khác.
refusal-no-operator = Số điện thoại này không thuộc nhà mạng nào đã kết nối với Cổng. Vui lòng kiểm tra lại số hoặc chọn hình thức đăng nhập khác.
