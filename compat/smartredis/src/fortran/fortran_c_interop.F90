!> Helpers shared by the SmartRedis Fortran modules (simdask compatibility
!! layer): the kind of the enumerations, Fortran strings and string arrays
!! as the C API takes them, C strings back as Fortran strings, the check of
!! `dims` against an array, and errors found on the Fortran side.
!!
!! Every module of this directory binds to SmartRedis's C API (include/c_*.h,
!! implemented in src/c over libsimdask) through iso_c_binding; users never
!! `use iso_c_binding`. Strings go to C as (pointer, len_trim) pairs, so
!! trailing blanks of a Fortran string are never part of a name.
module fortran_c_interop

use iso_c_binding, only : c_ptr, c_char, c_size_t, c_int, c_null_char, c_loc, c_associated, c_f_pointer

implicit none; private

#include "enum_fortran.inc"

integer, parameter, public :: enum_kind = c_int  !< kind of the enumerations and return codes (a C enum)
integer, parameter, public :: C_MAX_STRING = 255 !< SmartRedis's limit on names in arrays; not a limit here

!> A Fortran array of strings as the C API takes it (`const char **`, `const size_t *`, count): each string
!! trimmed and NUL-terminated in `chars`, `ptrs(i)` its start. The holder needs the target attribute.
type, public :: c_string_array
  character(kind=c_char), allocatable :: chars(:)
  type(c_ptr), allocatable :: ptrs(:)
  integer(c_size_t), allocatable :: lengths(:)
end type c_string_array

public :: to_c_strings, c_string_count, c_text, dims_to_c, fortran_error, fill_string

interface
  function c_strlen(s) bind(c, name="strlen") result(n)
    import :: c_ptr, c_size_t
    type(c_ptr), value, intent(in) :: s
    integer(c_size_t) :: n
  end function c_strlen

  ! src/c/srcompat.h: this thread's last error (NUL-terminated message and location)
  subroutine c_set_last_error(message, location) bind(c, name="srcompat_set_last_error")
    import :: c_char
    character(kind=c_char), intent(in) :: message(*)
    character(kind=c_char), intent(in) :: location(*)
  end subroutine c_set_last_error
end interface

contains

!> Fill `out` from `strings` (each trimmed); pointers stay valid while `out` lives.
subroutine to_c_strings(strings, out)
  character(len=*), intent(in) :: strings(:)
  type(c_string_array), intent(out), target :: out
  integer :: i, j, at, total

  total = 0
  do i = 1, size(strings)
    total = total + len_trim(strings(i)) + 1
  end do
  allocate(out%chars(max(total, 1)), out%ptrs(size(strings)), out%lengths(size(strings)))
  out%chars = c_null_char
  at = 1
  do i = 1, size(strings)
    out%lengths(i) = len_trim(strings(i), kind=c_size_t)
    do j = 1, len_trim(strings(i))
      out%chars(at + j - 1) = strings(i)(j:j)
    end do
    out%ptrs(i) = c_loc(out%chars(at))
    at = at + len_trim(strings(i)) + 1
  end do
end subroutine to_c_strings

!> The number of strings of `a`, as the C API takes it.
pure function c_string_count(a) result(n)
  type(c_string_array), intent(in) :: a
  integer(c_size_t) :: n
  n = size(a%ptrs, kind=c_size_t)
end function c_string_count

!> A NUL-terminated C string as a Fortran string ("" for a null pointer).
function c_text(p) result(text)
  type(c_ptr), intent(in) :: p
  character(len=:), allocatable :: text
  character(kind=c_char), pointer :: chars(:)
  integer(c_size_t) :: i, n

  if (.not. c_associated(p)) then
    text = ""
    return
  end if
  n = c_strlen(p)
  call c_f_pointer(p, chars, [n])
  allocate(character(len=n) :: text)
  do i = 1, n
    text(i:i) = chars(i)
  end do
end function c_text

!> Copy `n` characters at `p` into `out` (blank-padded); SRParameterError, naming `location`, when `out` is
!! too short for them.
function fill_string(p, n, out, location, what) result(code)
  type(c_ptr), intent(in) :: p
  integer(c_size_t), intent(in) :: n
  character(len=*), intent(out) :: out
  character(len=*), intent(in) :: location, what
  integer(enum_kind) :: code
  character(kind=c_char), pointer :: chars(:)
  integer(c_size_t) :: i

  out = ""
  if (n > len(out, kind=c_size_t)) then
    code = fortran_error(SRParameterError, location, what // " has " // itoa(n) // &
                         " characters but the character variable given for it holds " // &
                         itoa(len(out, kind=c_size_t)))
    return
  end if
  code = SRNoError
  if (n == 0) return
  call c_f_pointer(p, chars, [n])
  do i = 1, n
    out(i:i) = chars(i)
  end do
end function fill_string

!> `dims` as C takes them (size_t); SRParameterError when one is negative or when they describe more elements
!! than `capacity` (the size of the Fortran array): the C API would read or write past its end.
function dims_to_c(dims, capacity, location, name, c_dims) result(code)
  integer, intent(in) :: dims(:)
  integer(c_size_t), intent(in) :: capacity
  character(len=*), intent(in) :: location, name
  integer(c_size_t), intent(out) :: c_dims(size(dims))
  integer(enum_kind) :: code
  integer(c_size_t) :: needed

  c_dims = 0
  if (any(dims < 0)) then
    code = fortran_error(SRParameterError, location, "dims of '" // trim(name) // "' has a negative extent")
    return
  end if
  c_dims = int(dims, c_size_t)
  needed = product(c_dims)
  if (size(dims) > 0 .and. needed > capacity) then
    code = fortran_error(SRParameterError, location, "dims of '" // trim(name) // "' describe " // &
                         itoa(needed) // " elements but the array has " // itoa(capacity))
    return
  end if
  code = SRNoError  ! the C API checks them against the stored tensor
end function dims_to_c

!> Make `message` this thread's last error (get_last_error), at `location` (the procedure), and return `code`.
function fortran_error(code, location, message) result(rc)
  integer(enum_kind), intent(in) :: code
  character(len=*), intent(in) :: location, message
  integer(enum_kind) :: rc
  call c_set_last_error(message // c_null_char, location // c_null_char)
  rc = code
end function fortran_error

pure function itoa(n) result(s)
  integer(c_size_t), intent(in) :: n
  character(len=:), allocatable :: s
  character(len=24) :: buf
  write(buf, '(i0)') n
  s = trim(buf)
end function itoa

end module fortran_c_interop
