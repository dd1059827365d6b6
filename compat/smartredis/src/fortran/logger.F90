!> SmartRedis's logging for Fortran (simdask compatibility layer):
!! log_data, log_warning and log_error write a line to SR_LOG_FILE (default:
!! standard output) when `level` is at or below SR_LOG_LEVEL (QUIET, INFO
!! the default, DEBUG, DEVELOPER), naming the context: a client_type, a
!! dataset_type, a logcontext_type or a plain string.
!!
!!     use smartredis_logger, only : log_data, log_warning
!!     call log_data(client, LLInfo, "step 10 written")
!!     call log_warning("ocean/io", LLDebug, "slow write")
!!
!! They never fail: an uninitialized context logs nothing.
module smartredis_logger

use iso_c_binding, only : c_ptr, c_char, c_size_t
use fortran_c_interop, only : enum_kind
use smartredis_client, only : client_type
use smartredis_dataset, only : dataset_type
use smartredis_logcontext, only : logcontext_type

implicit none; private

public :: enum_kind
public :: log_data, log_warning, log_error

!> Log an informational line
interface log_data
  module procedure log_data_client, log_data_dataset, log_data_logcontext, log_data_string
end interface log_data

!> Log a warning
interface log_warning
  module procedure log_warning_client, log_warning_dataset, log_warning_logcontext, log_warning_string
end interface log_warning

!> Log an error
interface log_error
  module procedure log_error_client, log_error_dataset, log_error_logcontext, log_error_string
end interface log_error

interface
  subroutine c_log_data(context, level, data, data_length) bind(c, name="log_data_noexcept")
    import :: c_ptr, c_char, c_size_t, enum_kind
    type(c_ptr), value, intent(in) :: context
    integer(enum_kind), value, intent(in) :: level
    character(kind=c_char), intent(in) :: data(*)
    integer(c_size_t), value, intent(in) :: data_length
  end subroutine c_log_data

  subroutine c_log_data_string(context, context_length, level, data, data_length) &
      bind(c, name="log_data_noexcept_string")
    import :: c_char, c_size_t, enum_kind
    character(kind=c_char), intent(in) :: context(*)
    integer(c_size_t), value, intent(in) :: context_length
    integer(enum_kind), value, intent(in) :: level
    character(kind=c_char), intent(in) :: data(*)
    integer(c_size_t), value, intent(in) :: data_length
  end subroutine c_log_data_string

  subroutine c_log_warning(context, level, data, data_length) bind(c, name="log_warning_noexcept")
    import :: c_ptr, c_char, c_size_t, enum_kind
    type(c_ptr), value, intent(in) :: context
    integer(enum_kind), value, intent(in) :: level
    character(kind=c_char), intent(in) :: data(*)
    integer(c_size_t), value, intent(in) :: data_length
  end subroutine c_log_warning

  subroutine c_log_warning_string(context, context_length, level, data, data_length) &
      bind(c, name="log_warning_noexcept_string")
    import :: c_char, c_size_t, enum_kind
    character(kind=c_char), intent(in) :: context(*)
    integer(c_size_t), value, intent(in) :: context_length
    integer(enum_kind), value, intent(in) :: level
    character(kind=c_char), intent(in) :: data(*)
    integer(c_size_t), value, intent(in) :: data_length
  end subroutine c_log_warning_string

  subroutine c_log_error(context, level, data, data_length) bind(c, name="log_error_noexcept")
    import :: c_ptr, c_char, c_size_t, enum_kind
    type(c_ptr), value, intent(in) :: context
    integer(enum_kind), value, intent(in) :: level
    character(kind=c_char), intent(in) :: data(*)
    integer(c_size_t), value, intent(in) :: data_length
  end subroutine c_log_error

  subroutine c_log_error_string(context, context_length, level, data, data_length) &
      bind(c, name="log_error_noexcept_string")
    import :: c_char, c_size_t, enum_kind
    character(kind=c_char), intent(in) :: context(*)
    integer(c_size_t), value, intent(in) :: context_length
    integer(enum_kind), value, intent(in) :: level
    character(kind=c_char), intent(in) :: data(*)
    integer(c_size_t), value, intent(in) :: data_length
  end subroutine c_log_error_string
end interface

contains

!> Log an informational line against a client_type.
subroutine log_data_client(context, level, data)
  type(client_type), intent(in) :: context
  integer(enum_kind), intent(in) :: level
  character(len=*), intent(in) :: data
  call c_log_data(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
end subroutine log_data_client

!> Log an informational line against a dataset_type.
subroutine log_data_dataset(context, level, data)
  type(dataset_type), intent(in) :: context
  integer(enum_kind), intent(in) :: level
  character(len=*), intent(in) :: data
  call c_log_data(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
end subroutine log_data_dataset

!> Log an informational line against a logcontext_type.
subroutine log_data_logcontext(context, level, data)
  type(logcontext_type), intent(in) :: context
  integer(enum_kind), intent(in) :: level
  character(len=*), intent(in) :: data
  call c_log_data(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
end subroutine log_data_logcontext

!> Log an informational line against a context named by a string.
subroutine log_data_string(context, level, data)
  character(len=*), intent(in) :: context
  integer(enum_kind), intent(in) :: level
  character(len=*), intent(in) :: data
  call c_log_data_string(context, len_trim(context, kind=c_size_t), level, data, len_trim(data, kind=c_size_t))
end subroutine log_data_string

!> Log a warning against a client_type.
subroutine log_warning_client(context, level, data)
  type(client_type), intent(in) :: context
  integer(enum_kind), intent(in) :: level
  character(len=*), intent(in) :: data
  call c_log_warning(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
end subroutine log_warning_client

!> Log a warning against a dataset_type.
subroutine log_warning_dataset(context, level, data)
  type(dataset_type), intent(in) :: context
  integer(enum_kind), intent(in) :: level
  character(len=*), intent(in) :: data
  call c_log_warning(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
end subroutine log_warning_dataset

!> Log a warning against a logcontext_type.
subroutine log_warning_logcontext(context, level, data)
  type(logcontext_type), intent(in) :: context
  integer(enum_kind), intent(in) :: level
  character(len=*), intent(in) :: data
  call c_log_warning(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
end subroutine log_warning_logcontext

!> Log a warning against a context named by a string.
subroutine log_warning_string(context, level, data)
  character(len=*), intent(in) :: context
  integer(enum_kind), intent(in) :: level
  character(len=*), intent(in) :: data
  call c_log_warning_string(context, len_trim(context, kind=c_size_t), level, data, len_trim(data, kind=c_size_t))
end subroutine log_warning_string

!> Log an error against a client_type.
subroutine log_error_client(context, level, data)
  type(client_type), intent(in) :: context
  integer(enum_kind), intent(in) :: level
  character(len=*), intent(in) :: data
  call c_log_error(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
end subroutine log_error_client

!> Log an error against a dataset_type.
subroutine log_error_dataset(context, level, data)
  type(dataset_type), intent(in) :: context
  integer(enum_kind), intent(in) :: level
  character(len=*), intent(in) :: data
  call c_log_error(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
end subroutine log_error_dataset

!> Log an error against a logcontext_type.
subroutine log_error_logcontext(context, level, data)
  type(logcontext_type), intent(in) :: context
  integer(enum_kind), intent(in) :: level
  character(len=*), intent(in) :: data
  call c_log_error(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
end subroutine log_error_logcontext

!> Log an error against a context named by a string.
subroutine log_error_string(context, level, data)
  character(len=*), intent(in) :: context
  integer(enum_kind), intent(in) :: level
  character(len=*), intent(in) :: data
  call c_log_error_string(context, len_trim(context, kind=c_size_t), level, data, len_trim(data, kind=c_size_t))
end subroutine log_error_string

end module smartredis_logger
