!> SmartRedis's ConfigOptions for Fortran (simdask compatibility layer):
!! the settings a client is made from, read from the environment when asked.
!!
!!     use smartredis_configoptions, only : configoptions_type
!!     type(configoptions_type) :: opts
!!     rc = opts%create_configoptions_from_environment("OCEAN")  ! SSDB_OCEAN, SR_DB_TYPE_OCEAN, SSKEYIN_OCEAN ...
!!     rc = client%initialize(opts, "ocean model")
!!
!! Option names are the variable names without the suffix (SSDB, SR_DB_TYPE,
!! SSKEYIN, SSKEYOUT, SR_LOG_FILE, SR_LOG_LEVEL, the SR_* timeouts;
!! docs/smartredis.md). override_* changes the object only, never the
!! environment. Every function returns SRNoError or an SR*Error code
!! (SRKeyError: the option is not set; SRParameterError: not an integer).
module smartredis_configoptions

use iso_c_binding, only : c_ptr, c_null_ptr, c_char, c_size_t, c_bool, c_int64_t
use fortran_c_interop, only : enum_kind, fill_string

implicit none; private

#include "enum_fortran.inc"

public :: enum_kind

!> Configuration settings (a C ConfigOptions object).
type, public :: configoptions_type
  type(c_ptr) :: configoptions_ptr = c_null_ptr !< the C object (null before create_configoptions_from_environment)
contains
  !> The C object (for the C API)
  procedure :: get_c_pointer
  !> Make the object, reading the environment with a suffix ("" for none)
  procedure :: create_configoptions_from_environment
  !> The value of an integer option
  procedure :: get_integer_option
  !> The value of a string option
  procedure :: get_string_option
  !> Whether an option is set
  procedure :: is_configured
  !> Set an integer option for this object
  procedure :: override_integer_option
  !> Set a string option for this object
  procedure :: override_string_option
end type configoptions_type

interface
  function c_create_from_environment(suffix, suffix_length, new_options) &
      bind(c, name="create_configoptions_from_environment") result(code)
    import :: c_char, c_size_t, c_ptr, enum_kind
    character(kind=c_char), intent(in) :: suffix(*)
    integer(c_size_t), value, intent(in) :: suffix_length
    type(c_ptr), intent(inout) :: new_options
    integer(enum_kind) :: code
  end function c_create_from_environment

  function c_get_integer_option(options, name, name_length, result) bind(c, name="get_integer_option") result(code)
    import :: c_char, c_size_t, c_ptr, c_int64_t, enum_kind
    type(c_ptr), value, intent(in) :: options
    character(kind=c_char), intent(in) :: name(*)
    integer(c_size_t), value, intent(in) :: name_length
    integer(c_int64_t), intent(inout) :: result
    integer(enum_kind) :: code
  end function c_get_integer_option

  function c_get_string_option(options, name, name_length, result, result_length) &
      bind(c, name="get_string_option") result(code)
    import :: c_char, c_size_t, c_ptr, enum_kind
    type(c_ptr), value, intent(in) :: options
    character(kind=c_char), intent(in) :: name(*)
    integer(c_size_t), value, intent(in) :: name_length
    type(c_ptr), intent(out) :: result
    integer(c_size_t), intent(out) :: result_length
    integer(enum_kind) :: code
  end function c_get_string_option

  function c_is_configured(options, name, name_length, result) bind(c, name="is_configured") result(code)
    import :: c_char, c_size_t, c_ptr, c_bool, enum_kind
    type(c_ptr), value, intent(in) :: options
    character(kind=c_char), intent(in) :: name(*)
    integer(c_size_t), value, intent(in) :: name_length
    logical(c_bool), intent(out) :: result
    integer(enum_kind) :: code
  end function c_is_configured

  function c_override_integer_option(options, name, name_length, value) &
      bind(c, name="override_integer_option") result(code)
    import :: c_char, c_size_t, c_ptr, c_int64_t, enum_kind
    type(c_ptr), value, intent(in) :: options
    character(kind=c_char), intent(in) :: name(*)
    integer(c_size_t), value, intent(in) :: name_length
    integer(c_int64_t), value, intent(in) :: value
    integer(enum_kind) :: code
  end function c_override_integer_option

  function c_override_string_option(options, name, name_length, value, value_length) &
      bind(c, name="override_string_option") result(code)
    import :: c_char, c_size_t, c_ptr, enum_kind
    type(c_ptr), value, intent(in) :: options
    character(kind=c_char), intent(in) :: name(*)
    integer(c_size_t), value, intent(in) :: name_length
    character(kind=c_char), intent(in) :: value(*)
    integer(c_size_t), value, intent(in) :: value_length
    integer(enum_kind) :: code
  end function c_override_string_option
end interface

contains

!> The C object, for calls to the C API.
function get_c_pointer(self)
  type(c_ptr) :: get_c_pointer
  class(configoptions_type), intent(in) :: self
  get_c_pointer = self%configoptions_ptr
end function get_c_pointer

!> Make the object; it reads the variables named with "_" // db_suffix appended (db_suffix "": none).
function create_configoptions_from_environment(self, db_suffix) result(code)
  class(configoptions_type), intent(inout) :: self
  character(len=*), intent(in) :: db_suffix
  integer(enum_kind) :: code
  code = c_create_from_environment(db_suffix, len_trim(db_suffix, kind=c_size_t), self%configoptions_ptr)
end function create_configoptions_from_environment

!> The value of an integer option in `result`.
function get_integer_option(self, option_name, result) result(code)
  class(configoptions_type), intent(in) :: self
  character(len=*), intent(in) :: option_name
  integer(c_int64_t), intent(inout) :: result
  integer(enum_kind) :: code
  code = c_get_integer_option(self%configoptions_ptr, option_name, len_trim(option_name, kind=c_size_t), result)
end function get_integer_option

!> The value of a string option in `result` (allocated to its length).
function get_string_option(self, option_name, result) result(code)
  class(configoptions_type), intent(in) :: self
  character(len=*), intent(in) :: option_name
  character(len=:), allocatable, intent(out) :: result
  integer(enum_kind) :: code
  type(c_ptr) :: text
  integer(c_size_t) :: n

  code = c_get_string_option(self%configoptions_ptr, option_name, len_trim(option_name, kind=c_size_t), text, n)
  if (code /= SRNoError) return
  allocate(character(len=n) :: result)
  code = fill_string(text, n, result, "get_string_option", "option " // trim(option_name))
end function get_string_option

!> Whether the option is set (by the environment or an override).
function is_configured(self, option_name, result) result(code)
  class(configoptions_type), intent(in) :: self
  character(len=*), intent(in) :: option_name
  logical, intent(inout) :: result
  integer(enum_kind) :: code
  logical(c_bool) :: c_result

  c_result = .false.
  code = c_is_configured(self%configoptions_ptr, option_name, len_trim(option_name, kind=c_size_t), c_result)
  result = c_result
end function is_configured

!> Set an integer option for this object (the environment is not changed).
function override_integer_option(self, option_name, value) result(code)
  class(configoptions_type), intent(in) :: self
  character(len=*), intent(in) :: option_name
  integer(c_int64_t), intent(in) :: value
  integer(enum_kind) :: code
  code = c_override_integer_option(self%configoptions_ptr, option_name, len_trim(option_name, kind=c_size_t), value)
end function override_integer_option

!> Set a string option for this object (the environment is not changed).
function override_string_option(self, option_name, value) result(code)
  class(configoptions_type), intent(in) :: self
  character(len=*), intent(in) :: option_name
  character(len=*), intent(in) :: value
  integer(enum_kind) :: code
  code = c_override_string_option(self%configoptions_ptr, option_name, len_trim(option_name, kind=c_size_t), &
                                  value, len_trim(value, kind=c_size_t))
end function override_string_option

end module smartredis_configoptions
