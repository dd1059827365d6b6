! f_tests.F90: the Fortran client's test program, driven by test_fortran_client.py.
!
!   f_tests CASE
!
! The store address comes from SIMDASK_ADDRESS. Failed checks print
! "FAIL ..." lines; the exit status is the number of failures (0: passed).
! Note: no iso_c_binding here; users of the module never need it.
module f_checks
  use simdask
  implicit none
  integer :: failures = 0
contains
  subroutine check(ok, what)
    logical, intent(in) :: ok
    character(len=*), intent(in) :: what
    if (.not. ok) then
      failures = failures + 1
      write (0, '(a)') "FAIL " // what
    end if
  end subroutine check

  subroutine check_rc(client, rc, expected, what)
    type(simdask_client), intent(in) :: client
    integer, intent(in) :: rc, expected
    character(len=*), intent(in) :: what
    if (rc /= expected) then
      failures = failures + 1
      write (0, '(a, i0, a, i0, 2a)') "FAIL " // what // ": status ", rc, ", expected ", expected, ": ", &
        client%last_error()
    end if
  end subroutine check_rc

  subroutine check_message(client, text, what)
    type(simdask_client), intent(in) :: client
    character(len=*), intent(in) :: text, what
    call check(index(client%last_error(), text) > 0, what // ": message '" // client%last_error() // &
               "' lacks '" // text // "'")
  end subroutine check_message

#define RT_NAME roundtrip_r4
#define RT_TYPE real(4)
#define RT_VALUE(i) real((i) * 3 - 7, 4) * 0.5
#include "f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_r8
#define RT_TYPE real(8)
#define RT_VALUE(i) real((i) * 3 - 7, 8) * 0.25d0
#include "f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_i4
#define RT_TYPE integer(4)
#define RT_VALUE(i) ((i) * 3 - 7) * 1000
#include "f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_i8
#define RT_TYPE integer(8)
#define RT_VALUE(i) int((i) * 3 - 7, 8) * 10000000000_8
#include "f_roundtrip.inc"
end module f_checks

program f_tests
  use, intrinsic :: iso_fortran_env, only: int64, output_unit
  use simdask
  use f_checks
  implicit none
  type(simdask_client) :: client
  character(len=64) :: case
  integer :: rc

  call get_command_argument(1, case)
  if (trim(case) /= "errors" .and. trim(case) /= "auth" .and. trim(case) /= "frozen") then
    rc = client%initialize()
    if (rc /= SD_OK) then
      write (0, '(a)') "FAIL cannot connect: " // client%last_error()
      error stop 100
    end if
  end if
  select case (trim(case))
  case ("put_532")
    call case_put_532()
  case ("roundtrip")
    call roundtrip_r4(client, "ft_r4")
    call roundtrip_r8(client, "ft_r8")
    call roundtrip_i4(client, "ft_i4")
    call roundtrip_i8(client, "ft_i8")
  case ("unpack_python")
    call case_unpack_python()
  case ("misc")
    call case_misc()
  case ("errors")
    call case_errors()
  case ("auth")
    call case_auth()
  case ("requests")
    call case_requests()
  case ("frozen")
    call case_frozen()
  case default
    write (0, '(a)') "unknown case " // trim(case)
    error stop 2
  end select
  rc = client%destroy()
  print '(a, ": ", i0, " failure(s)")', trim(case), failures
  if (failures > 0) error stop failures

contains

  subroutine case_put_532()
    real(8) :: a(5, 3, 2)
    integer :: i, j, k
    do k = 1, 2
      do j = 1, 3
        do i = 1, 5
          a(i, j, k) = i * 100 + j * 10 + k
        end do
      end do
    end do
    call check_rc(client, client%put_tensor("f_a532", a), SD_OK, "put f_a532")
  end subroutine case_put_532

  ! Python put C-order arrays; Fortran reads them with the same shape and the same element at the same index.
  subroutine case_unpack_python()
    real(8) :: a(4, 3, 2)
    integer(4) :: b(3, 5)
    real(8), allocatable :: big(:, :)
    real(4) :: wrong(4, 3, 2)
    integer :: i, j, k, bad
    call check_rc(client, client%unpack_tensor("py_c", a), SD_OK, "unpack py_c")
    bad = 0
    do k = 1, 2
      do j = 1, 3
        do i = 1, 4
          if (a(i, j, k) /= (i - 1) * 6 + (j - 1) * 2 + (k - 1)) bad = bad + 1
        end do
      end do
    end do
    call check(bad == 0, "py_c elements")
    call check_rc(client, client%unpack_tensor("py_i4", b), SD_OK, "unpack py_i4")
    call check(b(1, 1) == 0 .and. b(3, 5) == 14 .and. b(2, 4) == 8, "py_i4 elements")
    allocate(big(1024, 2560))
    call check_rc(client, client%unpack_tensor("py_big", big), SD_OK, "unpack py_big (chunked)")
    bad = 0
    do j = 1, 2560
      do i = 1, 1024
        if (big(i, j) /= real((i - 1) * 2560 + (j - 1), 8)) bad = bad + 1
      end do
    end do
    call check(bad == 0, "py_big elements")
    call check_rc(client, client%unpack_tensor("py_c", wrong), SD_ERR_TYPE, "real(4) from float64")
    call check_message(client, "float64", "type message")
    call check_message(client, "py_c", "type message")
  end subroutine case_unpack_python

  subroutine case_misc()
    real(8) :: m(10, 6), got(5, 6), into(10, 6), scalar, s2
    integer(8) :: empty(0)
    logical :: exists
    integer :: i, j
    do j = 1, 6
      do i = 1, 10
        m(i, j) = i + 100 * j
      end do
    end do
    ! a strided section is written with its own shape (copied to a contiguous temporary)
    call check_rc(client, client%put_tensor("f_section", m(1:10:2, :)), SD_OK, "put section")
    call check_rc(client, client%unpack_tensor("f_section", got), SD_OK, "unpack section")
    call check(all(got == m(1:10:2, :)), "section values")
    ! unpack into a strided section
    into = -1
    call check_rc(client, client%unpack_tensor("f_section", into(2:10:2, :)), SD_OK, "unpack into a section")
    call check(all(into(2:10:2, :) == m(1:10:2, :)) .and. all(into(1:9:2, :) == -1), "unpacked section")
    ! rank 0 and size 0
    scalar = 42.5d0
    call check_rc(client, client%put_tensor("f_scalar", scalar), SD_OK, "put scalar")
    call check_rc(client, client%unpack_tensor("f_scalar", s2), SD_OK, "unpack scalar")
    call check(s2 == 42.5d0, "scalar value")
    call check_rc(client, client%put_tensor("f_empty", empty), SD_OK, "put empty")
    call check_rc(client, client%unpack_tensor("f_empty", empty), SD_OK, "unpack empty")
    ! exists, poll, delete (trailing blanks of names are dropped)
    call check_rc(client, client%tensor_exists("f_scalar   ", exists), SD_OK, "exists")
    call check(exists, "f_scalar exists")
    call check_rc(client, client%delete_tensor("f_scalar"), SD_OK, "delete")
    call check_rc(client, client%tensor_exists("f_scalar", exists), SD_OK, "exists after delete")
    call check(.not. exists, "f_scalar deleted")
    call check_rc(client, client%poll_tensor("f_never", 5, 3, exists), SD_OK, "poll")
    call check(.not. exists, "f_never polled")
    call check_rc(client, client%poll_tensor("f_later", 20, 250, exists), SD_OK, "poll f_later")
    call check(exists, "f_later appeared")
    call check(client%last_error() == "", "no error after a success")
  end subroutine case_misc

  subroutine case_errors()
    type(simdask_client) :: none
    real(8) :: a(3)
    logical :: exists
    a = 1
    ! a client never initialized refuses politely
    call check_rc(none, none%put_tensor("x", a), SD_ERR_ARG, "uninitialized put")
    call check(len(none%last_error()) > 0, "uninitialized message")
    call check_rc(client, client%initialize("127.0.0.1:1"), SD_ERR_CONNECTION, "connect to a closed port")
    call check_message(client, "127.0.0.1:1", "connection message")
    call check_rc(client, client%initialize("no-port"), SD_ERR_ARG, "bad address")
    call check_rc(client, client%initialize(), SD_OK, "initialize from SIMDASK_ADDRESS")
    call check_rc(client, client%unpack_tensor("f_missing", a), SD_ERR_NOT_FOUND, "missing")
    call check_message(client, "f_missing", "missing message")
    call check_rc(client, client%put_tensor("", a), SD_ERR_ARG, "empty name")
    call check_rc(client, client%put_tensor("f_three", a), SD_OK, "put f_three")
    call check_rc(client, client%unpack_tensor("f_three", a(1:2)), SD_ERR_SHAPE, "shape")
    call check_message(client, "(3,)", "shape message")
    call check_rc(client, client%tensor_exists("f_three", exists), SD_OK, "exists")
    call check_rc(client, client%poll_tensor("f_three", 10, 0, exists), SD_ERR_ARG, "poll with 0 tries")
  end subroutine case_errors

  ! SIMDASK_ADDRESS is a store with a password that SIMDASK_PASSWORD lacks or gets wrong (set by the test)
  subroutine case_auth()
    character(len=256) :: address
    call get_environment_variable("SIMDASK_ADDRESS", address)
    call check_rc(client, client%initialize(), SD_ERR_AUTH, "initialize without the right password")
    call check_message(client, trim(address), "auth message")
    print '(a)', client%last_error()
  end subroutine case_auth

  subroutine case_requests()
    real(8) :: x(3, 2), y(3, 2), z(3, 2)
    character(len=8) :: ins(1), outs(1)
    x = reshape([1d0, 2d0, 3d0, 4d0, 5d0, 6d0], shape(x))
    call check_rc(client, client%put_tensor("f_in", x), SD_OK, "put f_in")
    ins(1) = "f_in"
    outs(1) = "f_out"
    call check_rc(client, client%run_model("copy", ins, outs), SD_OK, "run_model copy")
    call check_rc(client, client%unpack_tensor("f_out", y), SD_OK, "unpack f_out")
    call check(all(x == y), "copied output")
    call check_rc(client, client%run_model("fail", ins, outs, timeout_ms=10000), SD_ERR_MODEL, "run_model fail")
    call check_message(client, "exploded", "model error message")
    call check_rc(client, client%run_model("slow", ins, outs, timeout_ms=300), SD_ERR_TIMEOUT, "run_model slow")
    outs(1) = "f_double"
    call check_rc(client, client%run_script("double", "twice", ins, outs, 10000), SD_OK, "run_script")
    call check_rc(client, client%unpack_tensor("f_double", z), SD_OK, "unpack f_double")
    call check(all(z == 2 * x), "doubled output")
  end subroutine case_requests

  ! Prints `marker` and waits for a line on stdin (the test acts in between).
  subroutine handshake(marker)
    character(len=*), intent(in) :: marker
    character(len=16) :: line
    print '(a)', marker
    flush (output_unit)
    read (*, '(a)') line
  end subroutine handshake

  ! "TIMED <name> <status> <ms since t0>", for the test to hold against the deadline.
  subroutine report(name, status, t0)
    character(len=*), intent(in) :: name
    integer, intent(in) :: status
    integer(int64), intent(in) :: t0
    integer(int64) :: t, rate
    call system_clock(t, rate)
    print '(a, 1x, a, 1x, i0, 1x, i0)', "TIMED", name, status, (t - t0) * 1000_int64 / rate
    flush (output_unit)
  end subroutine report

  ! SIMDASK_ADDRESS is a store the test freezes (SIGSTOP) between FREEZE and THAW: put_tensor and a new
  ! client's initialize return SD_ERR_TIMEOUT by their deadlines; after it the client works again.
  subroutine case_frozen()
    type(simdask_client) :: other
    real(8) :: a(4), b(4)
    integer(int64) :: t0
    integer :: status
    a = [1d0, 2d0, 3d0, 4d0]
    call check_rc(client, client%initialize(connect_timeout_ms=1000, io_timeout_ms=1000), SD_OK, "initialize")
    call check_rc(client, client%put_tensor("f_fz", a), SD_OK, "put before the freeze")
    call handshake("FREEZE")
    call system_clock(t0)
    status = client%put_tensor("f_fz2", a)
    call report("put_tensor", status, t0)
    call check_rc(client, status, SD_ERR_TIMEOUT, "put while frozen")
    call check_message(client, "f_fz2", "timeout message")
    call system_clock(t0)
    status = other%initialize(connect_timeout_ms=1000, io_timeout_ms=1000)
    call report("initialize", status, t0)
    call check_rc(other, status, SD_ERR_TIMEOUT, "initialize while frozen")
    status = other%destroy()
    call handshake("THAW")
    call check_rc(client, client%put_tensor("f_fz3", a), SD_OK, "put after the thaw")
    call check_rc(client, client%unpack_tensor("f_fz3", b), SD_OK, "unpack after the thaw")
    call check(all(a == b), "round trip after the thaw")
    call check_rc(other, other%initialize(), SD_OK, "initialize after the thaw")
    status = other%destroy()
  end subroutine case_frozen

end program f_tests
