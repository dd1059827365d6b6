!> SmartRedis's LogContext for Fortran (simdask compatibility layer): a
!! named context for log lines written where no client or dataset is at
!! hand (smartredis_logger's log_data, log_warning, log_error).
!!
!!     use smartredis_logcontext, only : logcontext_type
!!     type(logcontext_type) :: ctx
!!     rc = ctx%initialize("ocean/io")
!!     call log_data(ctx, LLInfo, "checkpoint written")
module smartredis_logcontext

use iso_c_binding, only : c_ptr, c_null_ptr, c_char, c_size_t
use fortran_c_interop, only : enum_kind

implicit none; private

public :: enum_kind

!> A named logging context (a C LogContext object).
type, public :: logcontext_type
  type(c_ptr) :: logcontext_ptr = c_null_ptr !< the C object (null before initialize)
contains
  !> Make the context with its name
  procedure :: initialize => initialize_logcontext
  !> The C object (for the C API)
  procedure :: get_c_pointer
end type logcontext_type

interface
  function c_logcontext(context, context_length, new_logcontext) bind(c, name="SmartRedisCLogContext") result(code)
    import :: c_char, c_size_t, c_ptr, enum_kind
    character(kind=c_char), intent(in) :: context(*)
    integer(c_size_t), value, intent(in) :: context_length
    type(c_ptr), intent(inout) :: new_logcontext
    integer(enum_kind) :: code
  end function c_logcontext
end interface

contains

!> Make the context named `context`.
function initialize_logcontext(self, context) result(code)
  class(logcontext_type), intent(inout) :: self
  character(len=*), intent(in) :: context
  integer(enum_kind) :: code
  code = c_logcontext(context, len_trim(context, kind=c_size_t), self%logcontext_ptr)
end function initialize_logcontext

!> The C object, for calls to the C API.
function get_c_pointer(self)
  type(c_ptr) :: get_c_pointer
  class(logcontext_type), intent(in) :: self
  get_c_pointer = self%logcontext_ptr
end function get_c_pointer

end module smartredis_logcontext
