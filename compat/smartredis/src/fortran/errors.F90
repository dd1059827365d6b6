!> SmartRedis's error text for Fortran (simdask compatibility layer).
!!
!! Every procedure of the SmartRedis Fortran API returns an integer code
!! (SRNoError or one of the SR*Error values of enum_fortran.inc); after a
!! failure, get_last_error() says why: simdask's message (it names the key,
!! the address or the model), a new line, then where it failed (the C API
!! function or Fortran procedure). The last error is kept per thread.
!!
!!     use smartredis_errors, only : get_last_error, print_last_error
!!     if (client%unpack_tensor("u", u, shape(u)) /= SRNoError) then
!!       print *, get_last_error()
!!       call print_last_error()    ! the same, to stderr (or to `unit`)
!!     end if
module smartredis_errors

use iso_c_binding, only : c_ptr
use, intrinsic :: iso_fortran_env, only : error_unit
use fortran_c_interop, only : c_text

implicit none; private

public :: get_last_error, print_last_error

interface
  function c_get_last_error() bind(c, name="SRGetLastError") result(p)
    import :: c_ptr
    type(c_ptr) :: p
  end function c_get_last_error

  function c_get_last_error_location() bind(c, name="SRGetLastErrorLocation") result(p)
    import :: c_ptr
    type(c_ptr) :: p
  end function c_get_last_error_location
end interface

contains

!> The message of this thread's last failed call, a new line, and where it failed.
function get_last_error()
  character(len=:), allocatable :: get_last_error
  get_last_error = c_text(c_get_last_error()) // new_line('a') // c_text(c_get_last_error_location())
end function get_last_error

!> Write get_last_error() to `unit` (default: standard error).
subroutine print_last_error(unit)
  integer, optional, intent(in) :: unit
  integer :: target_unit
  target_unit = error_unit
  if (present(unit)) target_unit = unit
  write(target_unit, '(a)') get_last_error()
end subroutine print_last_error

end module smartredis_errors
