! f_tests.F90: the Fortran client's test program, driven by test_fortran_client.py
! (and test_fortran_inference.py), compiled with -std=f2018 -Wall.
!
!   f_tests CASE [ARGS]
!
! The store address comes from SIMDASK_ADDRESS. Failed checks print
! "FAIL ..." lines; the exit status is the number of failures (0: passed).
! Calls expected to succeed go without a status argument (a failure ends the
! program with its message and a non-zero status); calls expected to fail
! pass one. Only the logical(c_bool) round trip needs iso_c_binding: users
! of the module never do otherwise.
module f_checks
  use, intrinsic :: iso_fortran_env, only: real32, real64, int8, int16, int32, int64
  use, intrinsic :: iso_c_binding, only: c_bool
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

  subroutine check_ds_message(ds, text, what)
    type(simdask_dataset), intent(in) :: ds
    character(len=*), intent(in) :: text, what
    call check(index(ds%last_error(), text) > 0, what // ": message '" // ds%last_error() // "' lacks '" // text // "'")
  end subroutine check_ds_message

#define RT_NAME roundtrip_r32
#define RT_TYPE real(real32)
#define RT_VALUE(i) real((i) * 3 - 7, real32) * 0.5
#define RT_SAME(a, b) ((a) == (b))
#include "f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_r64
#define RT_TYPE real(real64)
#define RT_VALUE(i) real((i) * 3 - 7, real64) * 0.25_real64
#include "f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_i8
#define RT_TYPE integer(int8)
#define RT_VALUE(i) int((i) * 3 - 7, int8)
#include "f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_i16
#define RT_TYPE integer(int16)
#define RT_VALUE(i) int(((i) * 3 - 7) * 100, int16)
#include "f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_i32
#define RT_TYPE integer(int32)
#define RT_VALUE(i) ((i) * 3 - 7) * 1000
#include "f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_i64
#define RT_TYPE integer(int64)
#define RT_VALUE(i) int((i) * 3 - 7, int64) * 10000000000_int64
#include "f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_c32
#define RT_TYPE complex(real32)
#define RT_VALUE(i) cmplx(((i) * 3 - 7) * 0.5, -((i) * 3 - 7), real32)
#include "f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_c64
#define RT_TYPE complex(real64)
#define RT_VALUE(i) cmplx(((i) * 3 - 7) * 0.25_real64, ((i) * 3 - 7) * 0.5_real64, real64)
#include "f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE
#undef RT_SAME

#define RT_NAME roundtrip_l
#define RT_TYPE logical
#define RT_VALUE(i) (mod(i, 3) == 0)
#define RT_SAME(a, b) ((a) .eqv. (b))
#include "f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_lc
#define RT_TYPE logical(c_bool)
#define RT_VALUE(i) logical(mod(i, 2) == 0, c_bool)
#include "f_roundtrip.inc"
end module f_checks

program f_tests
  use, intrinsic :: iso_fortran_env, only: real32, real64, int8, int16, int32, int64, output_unit
  use simdask
  use f_checks
  implicit none
  type(simdask_client) :: client
  character(len=64) :: case
  integer :: rc

  call get_command_argument(1, case)
  select case (trim(case))
  case ("errors", "auth", "frozen", "misuse", "fail_uninitialized", "fail_connect", "leaks")
  case default
    call client%initialize(status=rc)
    if (rc /= SD_OK) then
      write (0, '(a)') "FAIL cannot connect: " // client%last_error()
      error stop 100
    end if
  end select
  select case (trim(case))
  case ("put_532")
    call case_put_532()
  case ("roundtrip")
    call roundtrip_r32(client, "ft_r32")
    call roundtrip_r64(client, "ft_r64")
    call roundtrip_i8(client, "ft_i8")
    call roundtrip_i16(client, "ft_i16")
    call roundtrip_i32(client, "ft_i32")
    call roundtrip_i64(client, "ft_i64")
    call roundtrip_c32(client, "ft_c32")
    call roundtrip_c64(client, "ft_c64")
    call roundtrip_l(client, "ft_l")
    call roundtrip_lc(client, "ft_lc")
  case ("unpack_python")
    call case_unpack_python()
  case ("misc")
    call case_misc()
  case ("keys")
    call case_keys()
  case ("datasets_write")
    call case_datasets_write()
  case ("datasets_read")
    call case_datasets_read()
  case ("models_store")
    call case_models_store()
  case ("models_run")
    call case_models_run()
  case ("errors")
    call case_errors()
  case ("misuse")
    call case_misuse()
  case ("leaks")
    call case_leaks()
  case ("fail_missing")
    call case_fail_missing()
  case ("fail_uninitialized")
    call case_fail_uninitialized()
  case ("fail_connect")
    call client%initialize("127.0.0.1:1") ! no status: the program ends here
  case ("auth")
    call case_auth()
  case ("requests")
    call case_requests()
  case ("frozen")
    call case_frozen()
  case ("runs_begin")
    call case_runs_begin()
  case ("runs_env")
    call case_runs_env()
  case ("delete_own")
    call case_delete_own()
  case ("described")
    call case_described()
  case ("described_values")
    call case_described_values()
  case ("described_errors")
    call case_described_errors()
  case ("fail_block")
    call case_fail_block()
  case default
    write (0, '(a)') "unknown case " // trim(case)
    error stop 2
  end select
  call client%destroy()
  print '(a, ": ", i0, " failure(s)")', trim(case), failures
  if (failures > 0) error stop failures

contains

  subroutine case_put_532()
    real(real64) :: a(5, 3, 2)
    integer :: i, j, k
    do k = 1, 2
      do j = 1, 3
        do i = 1, 5
          a(i, j, k) = i * 100 + j * 10 + k
        end do
      end do
    end do
    call client%put_tensor("f_a532", a)
  end subroutine case_put_532

  ! Python put C-order arrays; Fortran reads them with the same shape and the same element at the same index.
  subroutine case_unpack_python()
    use, intrinsic :: iso_c_binding, only: c_bool
    real(real64) :: a(4, 3, 2)
    integer(int32) :: b(3, 5)
    real(real64), allocatable :: big(:, :)
    real(real32) :: wrong(4, 3, 2)
    logical :: flags(3, 4)
    logical(c_bool) :: flags_c(3, 4)
    integer(int8) :: small(2, 3)
    integer(int16) :: mid(4)
    complex(real32) :: z32(3)
    complex(real64) :: z64(2, 2)
    integer :: i, j, k, bad, rc
    call client%unpack_tensor("py_c", a)
    bad = 0
    do k = 1, 2
      do j = 1, 3
        do i = 1, 4
          if (a(i, j, k) /= (i - 1) * 6 + (j - 1) * 2 + (k - 1)) bad = bad + 1
        end do
      end do
    end do
    call check(bad == 0, "py_c elements")
    call client%unpack_tensor("py_i4", b)
    call check(b(1, 1) == 0 .and. b(3, 5) == 14 .and. b(2, 4) == 8, "py_i4 elements")
    allocate(big(1024, 2560))
    call client%unpack_tensor("py_big", big)
    bad = 0
    do j = 1, 2560
      do i = 1, 1024
        if (big(i, j) /= real((i - 1) * 2560 + (j - 1), real64)) bad = bad + 1
      end do
    end do
    call check(bad == 0, "py_big elements")
    ! numpy bool, int8, int16, complex64, complex128
    call client%unpack_tensor("py_bool", flags)
    call client%unpack_tensor("py_bool", flags_c)
    do j = 1, 4
      do i = 1, 3
        call check(flags(i, j) .eqv. mod((i - 1) * 4 + (j - 1), 3) == 0, "py_bool element")
        call check(flags_c(i, j) .eqv. flags(i, j), "py_bool element as c_bool")
      end do
    end do
    call client%unpack_tensor("py_int8", small)
    call check(small(1, 1) == -huge(small) - 1 .and. small(2, 3) == huge(small) .and. small(1, 2) == 1, "py_int8 elements")
    call client%unpack_tensor("py_int16", mid)
    call check(all(mid == [-huge(mid) - 1_int16, -1_int16, 0_int16, huge(mid)]), "py_int16 elements")
    call client%unpack_tensor("py_c64", z32)
    call check(all(z32 == [(cmplx(i, -i, real32), i = 1, 3)]), "py_c64 elements")
    call client%unpack_tensor("py_c128", z64)
    call check(z64(1, 2) == cmplx(0.5_real64, 2.0_real64, real64) .and. z64(2, 1) == (0, 1), "py_c128 elements")
    ! a type that differs from the stored one
    call client%unpack_tensor("py_c", wrong, rc)
    call check_rc(client, rc, SD_ERR_TYPE, "real(real32) from float64")
    call check_message(client, "float64", "type message")
    call check_message(client, "py_c", "type message")
    call client%unpack_tensor("py_int8", flags(1:2, 1:3), rc)
    call check_rc(client, rc, SD_ERR_TYPE, "logical from int8")
  end subroutine case_unpack_python

  subroutine case_misc()
    real(real64) :: m(10, 6), got(5, 6), into(10, 6), scalar, s2
    integer(int64) :: empty(0)
    logical :: exists, no_flags(0)
    integer :: i, j, rc
    do j = 1, 6
      do i = 1, 10
        m(i, j) = i + 100 * j
      end do
    end do
    ! a strided section is written with its own shape (copied to a contiguous temporary)
    call client%put_tensor("f_section", m(1:10:2, :))
    call client%unpack_tensor("f_section", got)
    call check(all(got == m(1:10:2, :)), "section values")
    ! unpack into a strided section
    into = -1
    call client%unpack_tensor("f_section", into(2:10:2, :))
    call check(all(into(2:10:2, :) == m(1:10:2, :)) .and. all(into(1:9:2, :) == -1), "unpacked section")
    ! rank 0 and size 0
    scalar = 42.5_real64
    call client%put_tensor("f_scalar", scalar)
    call client%unpack_tensor("f_scalar", s2)
    call check(s2 == 42.5_real64, "scalar value")
    call client%put_tensor("f_empty", empty)
    call client%unpack_tensor("f_empty", empty)
    call client%put_tensor("f_empty_bool", no_flags)
    call client%unpack_tensor("f_empty_bool", no_flags)
    ! exists, poll, delete (trailing blanks of names are dropped)
    call client%tensor_exists("f_scalar   ", exists)
    call check(exists, "f_scalar exists")
    call client%delete_tensor("f_scalar")
    call client%tensor_exists("f_scalar", exists)
    call check(.not. exists, "f_scalar deleted")
    call client%poll_tensor("f_never", 5, 3, exists)
    call check(.not. exists, "f_never polled")
    call client%poll_tensor("f_later", 20, 250, exists, rc)
    call check_rc(client, rc, SD_OK, "poll f_later")
    call check(exists, "f_later appeared")
    call check(client%last_error() == "", "no error after a success")
  end subroutine case_misc

  ! copy, rename, key_exists, delete; Python checks what copy_tensor kept.
  subroutine case_keys()
    real(real64) :: a(4), b(4)
    logical :: exists
    integer :: rc
    a = [1, 2, 3, 4]
    call client%put_tensor("f_src", a)
    call client%copy_tensor("f_src", "f_copy")
    call client%unpack_tensor("f_copy", b)
    call check(all(a == b), "copied values")
    call client%rename_tensor("f_copy", "f_moved")
    call client%tensor_exists("f_copy", exists)
    call check(.not. exists, "renamed away")
    call client%key_exists("f_moved", exists)
    call check(exists, "f_moved is a key")
    call client%rename_tensor("f_moved", "f_moved")
    call client%tensor_exists("f_moved", exists)
    call check(exists, "renamed onto itself: still there")
    call client%copy_tensor("py_described", "f_described") ! Python checks dims and attrs
    call client%copy_tensor("f_nothing", "f_never", rc)
    call check_rc(client, rc, SD_ERR_NOT_FOUND, "copy of a missing tensor")
    call check_message(client, "f_nothing", "copy message")
    call client%copy_tensor("f_src", "", rc)
    call check_rc(client, rc, SD_ERR_ARG, "copy to an empty name")
    call client%delete_dataset("f_no_dataset", rc)
    call check_rc(client, rc, SD_ERR_NOT_FOUND, "delete of a missing dataset")
    call client%dataset_exists("f_no_dataset", exists)
    call check(.not. exists, "no dataset")
  end subroutine case_keys

  ! Two datasets of every kind of tensor and metadata, put and appended to a list; Python reads them.
  subroutine case_datasets_write()
    type(simdask_dataset) :: ds, second
    real(real64) :: u(4, 3), back(4, 3)
    logical :: mask(5)
    integer(int16) :: ids(3)
    complex(real64) :: z(2)
    real(real64), allocatable :: times(:)
    integer(int64), allocatable :: steps(:)
    real(real32), allocatable :: wrong(:)
    character(len=:), allocatable :: names(:), sources(:), fields(:)
    integer, allocatable :: dims(:)
    integer :: i, j, n, rc
    logical :: reached
    do j = 1, 3
      do i = 1, 4
        u(i, j) = 10 * i + j
      end do
    end do
    mask = [.true., .false., .true., .true., .false.]
    ids = [7_int16, -8_int16, 9_int16]
    z = [(1.5_real64, -2.0_real64), (0.0_real64, 1.0_real64)]
    call ds%initialize("f_ds")
    call check(ds%name() == "f_ds", "dataset name")
    call ds%add_tensor("u", u)
    call ds%add_tensor("mask", mask)
    call ds%add_tensor("ids", ids)
    call ds%add_tensor("z", z)
    call ds%add_meta_scalar("time", 1.5_real64)
    call ds%add_meta_scalar("time", 2.5_real64)
    call ds%add_meta_scalar("step", 7_int64)
    call ds%add_meta_string("source", "fortran")
    call ds%add_meta_string("source", "f_tests")
    ! read back in memory
    call ds%tensor_names(names)
    call check(size(names) == 4, "four tensor names")
    if (size(names) == 4) call check(names(1) == "u" .and. names(4) == "z", "tensor names in order")
    call ds%tensor_shape("u", dims)
    call check(all(dims == [4, 3]), "shape of u")
    call ds%unpack_tensor("u", back)
    call check(all(back == u), "u from the dataset")
    call ds%get_meta_scalars("time", times)
    call check(all(times == [1.5_real64, 2.5_real64]), "time field")
    call ds%get_meta_scalars("step", steps)
    call check(all(steps == [7_int64]), "step field")
    call ds%get_meta_scalars("time", wrong, rc)
    call check(rc == SD_ERR_TYPE .and. size(wrong) == 0, "time as real32")
    call check_ds_message(ds, "time", "meta type message")
    call ds%get_meta_strings("source", sources)
    call check(size(sources) == 2, "two sources")
    if (size(sources) == 2) call check(sources(1) == "fortran" .and. sources(2) == "f_tests", "source strings")
    call ds%meta_names(fields)
    call check(size(fields) == 3, "three fields")
    call ds%get_meta_strings("nothing", sources, rc)
    call check(rc == SD_ERR_NOT_FOUND .and. size(sources) == 0, "missing field")
    ! into the store, and a list of two
    call client%put_dataset(ds)
    call client%append_to_list("f_list", ds)
    call second%initialize("f_ds2")
    call second%add_tensor("u", 2 * u)
    call second%add_meta_scalar("step", 8_int64)
    call client%put_dataset(second)
    call client%append_to_list("f_list", second)
    call client%get_list_length("f_list", n)
    call check(n == 2, "list length")
    call client%poll_list_length("f_list", 2, 10, 5, reached)
    call check(reached, "list length 2")
    call client%poll_list_length_gte("f_list", 1, 10, 5, reached)
    call check(reached, "list length >= 1")
    call client%poll_list_length_lte("f_list", 1, 10, 2, reached)
    call check(.not. reached, "list length <= 1")
    call client%poll_list_length("f_list", -1, 10, 2, reached, rc)
    call check_rc(client, rc, SD_ERR_ARG, "negative length")
    call client%poll_dataset("f_ds2", 10, 5, reached)
    call check(reached, "f_ds2 polled")
  end subroutine case_datasets_write

  ! Python wrote dataset py_ds and list py_list of three datasets; Fortran reads them.
  subroutine case_datasets_read()
    type(simdask_dataset) :: ds, copy
    type(simdask_dataset), allocatable :: all_ds(:)
    real(real64), allocatable :: temp(:, :), part(:)
    logical :: flags(5), found
    real(real32), allocatable :: dt(:)
    integer(int64), allocatable :: steps(:)
    character(len=:), allocatable :: names(:), labels(:)
    integer, allocatable :: dims(:)
    integer :: i, j, bad
    call client%poll_dataset("py_ds", 20, 100, found)
    call check(found, "py_ds appeared")
    call client%get_dataset("py_ds", ds)
    call ds%tensor_names(names)
    call check(size(names) == 2, "two tensors")
    if (size(names) == 2) call check(names(1) == "temp" .and. names(2) == "flags", "names in order")
    call ds%tensor_shape("temp", dims)
    call check(all(dims == [3, 4]), "shape of temp")
    allocate(temp(dims(1), dims(2)))
    call ds%unpack_tensor("temp", temp)
    bad = 0
    do j = 1, 4
      do i = 1, 3
        if (temp(i, j) /= (i - 1) * 4 + (j - 1)) bad = bad + 1
      end do
    end do
    call check(bad == 0, "temp elements (a C-order array)")
    call ds%unpack_tensor("flags", flags)
    call check(all(flags .eqv. [.true., .false., .false., .true., .false.]), "flags")
    call ds%get_meta_scalars("dt", dt)
    call check(all(dt == [0.5_real32]), "dt")
    call ds%get_meta_scalars("steps", steps)
    call check(all(steps == [10_int64, 20_int64]), "steps")
    call ds%get_meta_strings("labels", labels)
    call check(size(labels) == 2, "two labels")
    if (size(labels) == 2) call check(labels(1) == "alpha" .and. labels(2) == "be", "labels")
    ! a copy of a dataset shares it
    copy = ds
    call check(copy%name() == "py_ds", "copied dataset")
    call client%get_datasets_from_list("py_list", all_ds)
    call check(size(all_ds) == 3, "three datasets in py_list")
    allocate(part(2))
    do i = 1, size(all_ds)
      call all_ds(i)%unpack_tensor("v", part)
      call check(all(part == [real(i, real64), real(-i, real64)]), "v of list entry")
    end do
    call client%get_datasets_from_list("py_no_list", all_ds)
    call check(size(all_ds) == 0, "an empty list")
  end subroutine case_datasets_read

  ! A model and a script stored from Fortran (the arguments: a model file, a script file); Python reads them.
  subroutine case_models_store()
    character(len=512) :: model_file, script_file
    character(len=:), allocatable :: bytes
    integer(int64) :: version
    logical :: exists
    integer :: rc, unit, size_bytes
    call get_command_argument(2, model_file)
    call get_command_argument(3, script_file)
    call client%set_model_from_file("f_model", trim(model_file), "torch", device="gpu:1", batch_size=4, &
                                    min_batch_size=2, min_batch_timeout=30, tag="from fortran", &
                                    inputs=["a", "b"], outputs=["c"], version=version)
    call check(version == 1, "first version")
    ! the same bytes read by Fortran, stored with set_model
    open (newunit=unit, file=trim(model_file), access="stream", form="unformatted", action="read")
    inquire (unit=unit, size=size_bytes)
    allocate(character(len=size_bytes) :: bytes)
    read (unit) bytes
    close (unit)
    call client%set_model("f_model_bytes", bytes, "TORCH", version=version)
    call check(version == 1, "first version of f_model_bytes")
    call client%set_model("f_model_bytes", bytes, "TORCH", version=version)
    call check(version == 2, "second version of f_model_bytes")
    call client%set_script_from_file("f_script", trim(script_file))
    call client%set_script("f_inline", "def twice(x):" // new_line("a") // "    return 2 * x" // new_line("a"), &
                           device="CPU")
    call client%model_exists("f_inline", exists)
    call check(exists, "f_inline exists")
    ! refusals
    call client%set_model("f_bad", "not a zip", "TORCH", status=rc)
    call check_rc(client, rc, SD_ERR_ARG, "bytes that are no TorchScript")
    call client%set_model("f_bad", bytes, "tensorflow", status=rc)
    call check_rc(client, rc, SD_ERR_ARG, "unknown backend")
    call check_message(client, "tensorflow", "backend message")
    call client%set_model_from_file("f_bad", "/nonexistent/f.pt", "TORCH", status=rc)
    call check_rc(client, rc, SD_ERR_ARG, "missing file")
    call check_message(client, "/nonexistent/f.pt", "file message")
    call client%delete_model("f_bad", rc)
    call check_rc(client, rc, SD_ERR_NOT_FOUND, "delete a missing model")
    call client%delete_script("f_inline")
    call client%model_exists("f_inline", exists)
    call check(.not. exists, "f_inline deleted")
  end subroutine case_models_store

  ! A TorchScript model file (argument 2: its model returns 2 x) stored from Fortran and run by the
  ! inference service from Fortran, as a script stored from Fortran.
  subroutine case_models_run()
    character(len=512) :: model_file
    real(real32) :: x(3, 1), y(3, 1)
    integer :: rc
    call get_command_argument(2, model_file)
    call client%set_model_from_file("f_double", trim(model_file), "TORCH")
    call client%set_script("f_ops", "def twice(x):" // new_line("a") // "    return 2 * x" // new_line("a"))
    x = reshape([1, 2, 3], shape(x))
    call client%put_tensor("f_x", x)
    call client%run_model("f_double", ["f_x"], ["f_y"], timeout_ms=60000)
    call client%unpack_tensor("f_y", y)
    call check(all(y == 2 * x), "model output")
    y = 0
    call client%run_script("f_ops", "twice", ["f_x"], ["f_y"], timeout_ms=60000)
    call client%unpack_tensor("f_y", y)
    call check(all(y == 2 * x), "script output")
    call client%run_model("f_no_model", ["f_x"], ["f_y"], 20000, rc)
    call check_rc(client, rc, SD_ERR_MODEL, "a missing model")
    call check_message(client, "f_no_model", "missing model message")
    call client%delete_model("f_double")
    call client%delete_script("f_ops")
  end subroutine case_models_run

  subroutine case_errors()
    real(real64) :: a(3)
    logical :: exists
    integer :: rc
    a = 1
    call client%initialize("127.0.0.1:1", status=rc)
    call check_rc(client, rc, SD_ERR_CONNECTION, "connect to a closed port")
    call check_message(client, "127.0.0.1:1", "connection message")
    call client%initialize("no-port", status=rc)
    call check_rc(client, rc, SD_ERR_ARG, "bad address")
    call client%initialize()
    call client%unpack_tensor("f_missing", a, rc)
    call check_rc(client, rc, SD_ERR_NOT_FOUND, "missing")
    call check_message(client, "f_missing", "missing message")
    call client%put_tensor("", a, rc)
    call check_rc(client, rc, SD_ERR_ARG, "empty name")
    call client%put_tensor("f_three", a)
    call client%unpack_tensor("f_three", a(1:2), rc)
    call check_rc(client, rc, SD_ERR_SHAPE, "shape")
    call check_message(client, "(3,)", "shape message")
    call client%tensor_exists("f_three", exists, rc)
    call check_rc(client, rc, SD_OK, "exists")
    call client%poll_tensor("f_three", 10, 0, exists, rc)
    call check_rc(client, rc, SD_ERR_ARG, "poll with 0 tries")
  end subroutine case_errors

  ! Clients and datasets used before initialize or after destroy say so; copies share one object,
  ! freed once (no crash, and valgrind finds no double free: test_fortran_client.py).
  subroutine case_misuse()
    type(simdask_client) :: none, a, b
    type(simdask_dataset) :: nods, ds, ds_copy
    real(real64) :: r(2)
    logical :: exists
    integer :: rc
    r = [1, 2]
    call none%put_tensor("x", r, rc)
    call check_rc(none, rc, SD_ERR_ARG, "uninitialized put")
    call check_message(none, "not initialized", "uninitialized message")
    call check_message(none, "initialize", "uninitialized message names the cure")
    call none%tensor_exists("x", exists, rc)
    call check(rc == SD_ERR_ARG .and. .not. exists, "uninitialized exists")
    call none%destroy() ! nothing to destroy: no error
    call nods%add_tensor("x", r, rc)
    call check(rc == SD_ERR_ARG, "uninitialized dataset")
    call check_ds_message(nods, "simdask_dataset is not initialized", "uninitialized dataset message")
    call nods%initialize("bad{name}", rc)
    call check(rc == SD_ERR_ARG, "dataset name with braces")
    call check_ds_message(nods, "bad{name}", "dataset name message")
    ! a client copied, destroyed through one copy: the other says it was destroyed
    call a%initialize()
    b = a
    call b%put_tensor("f_shared", r)
    call a%destroy()
    call b%put_tensor("f_shared", r, rc)
    call check_rc(b, rc, SD_ERR_ARG, "put through a destroyed copy")
    call check_message(b, "destroyed", "destroyed message")
    call b%destroy()
    call a%destroy()
    call a%put_tensor("f_shared", r, rc)
    call check_message(a, "destroyed", "destroyed message of the destroyer")
    call a%initialize() ! usable again; b still refers to the destroyed one
    call a%put_tensor("f_again", r)
    call b%put_tensor("f_again", r, rc)
    call check_rc(b, rc, SD_ERR_ARG, "the other copy stays destroyed")
    b = a
    call b%put_tensor("f_again", r)
    ! a client whose initialize failed is not initialized
    call a%initialize("no-port", status=rc)
    call check_rc(a, rc, SD_ERR_ARG, "bad address")
    call a%put_tensor("f_again", r, rc)
    call check_message(a, "not initialized", "after a failed initialize")
    call b%put_tensor("f_again", r) ! b kept the client a let go of
    ! datasets: a dataset given to the client before initialize
    call client%initialize()
    call client%put_dataset(nods, rc)
    call check_rc(client, rc, SD_ERR_ARG, "put_dataset of an uninitialized dataset")
    call check_message(client, "simdask_dataset is not initialized", "put_dataset message")
    call ds%initialize("f_misuse_ds")
    call ds%add_tensor("r", r)
    ds_copy = ds
    call ds%destroy()
    call client%put_dataset(ds_copy, rc)
    call check_rc(client, rc, SD_ERR_ARG, "put_dataset of a destroyed dataset")
    call check_message(client, "destroyed", "destroyed dataset message")
    call ds_copy%destroy()
    ! copies going out of scope, in arrays and inside other types
    call scoped_copies()
    call scoped_copies()
  end subroutine case_misuse

  subroutine scoped_copies()
    type :: holder
      type(simdask_client) :: client
      type(simdask_dataset) :: ds
    end type holder
    type(simdask_client) :: local, again
    type(simdask_client), allocatable :: many(:)
    type(holder) :: one, two
    real(real64) :: r(2)
    r = [3, 4]
    call local%initialize()
    again = local
    allocate(many(3))
    many(1) = local
    many(3) = many(1)
    call many(3)%put_tensor("f_scoped", r)
    deallocate(many)
    call again%put_tensor("f_scoped", r)
    one%client = local
    call one%ds%initialize("f_scoped_ds")
    two = one ! intrinsic assignment of a type holding a client and a dataset
    call two%client%put_tensor("f_scoped", r)
    call two%ds%add_tensor("r", r)
  end subroutine scoped_copies

  ! Clients and datasets that go out of scope are freed: the test counts the store's connections between
  ! the markers.
  subroutine case_leaks()
    integer :: i
    call client%initialize()
    call handshake("BEFORE")
    do i = 1, 20
      call one_client(i)
    end do
    call handshake("AFTER")
  end subroutine case_leaks

  subroutine one_client(i)
    integer, intent(in) :: i
    type(simdask_client) :: local, copy
    type(simdask_dataset) :: ds
    call local%initialize()
    copy = local
    call copy%put_tensor("f_leak", [real(i, real64)])
    call ds%initialize("f_leak_ds")
    call ds%add_tensor("v", [i, i])
  end subroutine one_client

  ! Without a status argument a failure ends the program: exit status 3 (SD_ERR_NOT_FOUND), message on stderr.
  subroutine case_fail_missing()
    real(real64) :: a(3)
    call client%unpack_tensor("f_missing_nostatus", a)
    print '(a)', "still running"
  end subroutine case_fail_missing

  subroutine case_fail_uninitialized()
    real(real64) :: a(3)
    a = 0
    call client%put_tensor("f_never", a)
    print '(a)', "still running"
  end subroutine case_fail_uninitialized

  ! SIMDASK_ADDRESS is a store with a password that SIMDASK_PASSWORD lacks or gets wrong (set by the test)
  subroutine case_auth()
    character(len=256) :: address
    integer :: rc
    call get_environment_variable("SIMDASK_ADDRESS", address)
    call client%initialize(status=rc)
    call check_rc(client, rc, SD_ERR_AUTH, "initialize without the right password")
    call check_message(client, trim(address), "auth message")
    print '(a)', client%last_error()
  end subroutine case_auth

  subroutine case_requests()
    real(real64) :: x(3, 2), y(3, 2), z(3, 2)
    integer :: rc
    x = reshape([1, 2, 3, 4, 5, 6], shape(x))
    call client%put_tensor("f_in", x)
    call client%run_model("copy", ["f_in"], ["f_out"])
    call client%unpack_tensor("f_out", y)
    call check(all(x == y), "copied output")
    call client%run_model("fail", ["f_in"], ["f_out"], timeout_ms=10000, status=rc)
    call check_rc(client, rc, SD_ERR_MODEL, "run_model fail")
    call check_message(client, "exploded", "model error message")
    call client%run_model("slow", ["f_in"], ["f_out"], timeout_ms=300, status=rc)
    call check_rc(client, rc, SD_ERR_TIMEOUT, "run_model slow")
    call client%run_script("double", "twice", ["f_in"], ["f_double"], 10000)
    call client%unpack_tensor("f_double", z)
    call check(all(z == 2 * x), "doubled output")
  end subroutine case_requests

  ! Prints `marker` and waits for a line on stdin (the test acts in between).
  ! Runs begun and ended by the program (SIMDASK_KEY_PREFIX from the test), its heartbeat lasting 4 s; a plain
  ! key "steer" (put by the test outside any run) read through the fallback. Prints "BEGUN" in run 1.
  subroutine case_runs_begin()
    real(real64) :: got(3), steer(1)
    integer(int32) :: v(1)
    integer :: run, rc
    call client%initialize(run_lease_ms=4000)
    call client%run_number(run)
    call check(run == 0, "no run before begin_run")
    call client%begin_run(writers=2, status=rc)
    call check_rc(client, rc, SD_ERR_ARG, "a random run id for 2 writers")
    call check_message(client, "needs a run id", "a random run id for 2 writers")
    call client%begin_run("fid", writer=2, writers=2, status=rc)
    call check_rc(client, rc, SD_ERR_ARG, "writer 2 of 2")
    call check_message(client, "writer index 2 of 2 writers", "writer 2 of 2")
    call client%begin_run()
    call client%run_number(run)
    call check(run == 1, "begin_run begins run 1")
    call client%put_tensor("u", [1.0_real64, 2.0_real64, 3.0_real64])
    call handshake("BEGUN")
    call client%begin_run(status=rc)
    call check_rc(client, rc, SD_ERR_ARG, "begin_run while in a run")
    call check_message(client, "already writing in run 1", "begin_run while in a run")
    call client%end_run()
    call client%put_tensor("u", [4.0_real64, 5.0_real64, 6.0_real64], status=rc)
    call check_rc(client, rc, SD_ERR_ARG, "a write after end_run")
    call check_message(client, "has ended run 1", "a write after end_run")
    call client%unpack_tensor("u", got) ! its own run, ended
    call check(all(got == [1.0_real64, 2.0_real64, 3.0_real64]), "reads its own ended run")
    call client%run_number(run)
    call check(run == 1, "run_number after end_run")
    call client%begin_run("fid", 0, 1)
    call client%run_number(run)
    call check(run == 2, "a second begin_run begins run 2")
    v = 7
    call client%put_tensor("v", v)
    call client%unpack_tensor("steer", steer) ! the plain key, written outside any run
    call check(steer(1) == 2.5_real64, "the plain key shows in the run")
    call client%unpack_tensor("u", got, status=rc) ! run 1's key never shows in run 2
    call check_rc(client, rc, SD_ERR_NOT_FOUND, "another run's key")
    call check_message(client, "(nor at 'frun.u')", "another run's key")
    call client%end_run()
    call client%end_run() ! ending twice does nothing
  end subroutine case_runs_begin

  ! A writer of a run named by SIMDASK_RUN_ID (its index from SIMDASK_RUN_WRITER): writes NAME = [VALUE] and
  ! prints "RUN <n>"; destroy ends its part.
  subroutine case_runs_env()
    character(len=64) :: name, arg
    real(real64) :: value
    integer :: run
    call get_command_argument(2, name)
    call get_command_argument(3, arg)
    read (arg, *) value
    call client%run_number(run)
    call check(run == 0, "a run named by the environment begins at the first write")
    call client%put_tensor(trim(name), [value])
    call client%run_number(run)
    print '(a, i0)', "RUN ", run
  end subroutine case_runs_env

  ! The issue's case (docs/protocol.md, "Runs"): with SIMDASK_KEY_PREFIX=runC and SIMDASK_KEY_PREFIXES_IN=other,
  ! deleting the end marker deletes runC's own, never other's.
  subroutine case_delete_own()
    integer(int64) :: steps(1)
    steps = 3
    call client%put_tensor("simdask:end", steps)
    call client%delete_tensor("simdask:end")
  end subroutine case_delete_own

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
    real(real64) :: a(4), b(4)
    integer(int64) :: t0
    integer :: status
    a = [1, 2, 3, 4]
    call client%initialize(connect_timeout_ms=1000, io_timeout_ms=1000)
    call client%put_tensor("f_fz", a)
    call handshake("FREEZE")
    call system_clock(t0)
    call client%put_tensor("f_fz2", a, status)
    call report("put_tensor", status, t0)
    call check_rc(client, status, SD_ERR_TIMEOUT, "put while frozen")
    call check_message(client, "f_fz2", "timeout message")
    call system_clock(t0)
    call other%initialize(connect_timeout_ms=1000, io_timeout_ms=1000, status=status)
    call report("initialize", status, t0)
    call check_rc(other, status, SD_ERR_TIMEOUT, "initialize while frozen")
    call handshake("THAW")
    call client%put_tensor("f_fz3", a)
    call client%unpack_tensor("f_fz3", b)
    call check(all(a == b), "round trip after the thaw")
    call other%initialize()
  end subroutine case_frozen

  ! A global theta(NX, NZ) = theta(8, 5) cut into 2 x 3 uneven blocks (z: 1:2, 3:5; x: 1:4, 5:5, 6:8), each
  ! written as an MPI rank writes its own: one description set once, the time replaced every step. This
  ! process is the ranks of z band `band` (argument 2: 0 or 1), ranks 3 band .. 3 band + 2, keys
  ! ftheta_<step>_<rank>; theta = 100 step + 10 z + x + 0.25 and coordinate x = (5 x + 1) / 10 (0-based x, z).
  subroutine case_described()
    integer, parameter :: NX = 8, NZ = 5, rows(3) = [1, 3, 6], cols(4) = [1, 5, 6, 9] ! first global indices
    type(simdask_tensor_meta) :: meta
    real(real64), allocatable :: theta(:, :)
    real(real64) :: xs(NX)
    character(len=16) :: arg
    character(len=32) :: name
    integer :: band, j, step, ix, iz, x0, z0, bx, bz
    call get_command_argument(2, arg)
    read (arg, *) band
    xs = [(real(5 * ix + 1, real64) / 10, ix = 0, NX - 1)]
    z0 = rows(band + 1)
    bz = rows(band + 2) - z0
    do j = 1, 3
      x0 = cols(j)
      bx = cols(j + 1) - x0
      allocate(theta(bx, bz))
      call meta%initialize()
      call meta%set_dims(["x", "z"])
      call meta%set_attr("units", "K")
      call meta%set_attr("long_name", "potential temperature")
      call meta%set_attr("levels", NZ)
      call meta%set_attr("scale", 1.0_real64)
      call meta%set_coord_array("x", xs(x0:x0 + bx - 1))
      call meta%set_block([NX, NZ], [x0, z0])
      do step = 0, 1
        do iz = 1, bz
          do ix = 1, bx
            theta(ix, iz) = 100 * step + 10 * (z0 + iz - 2) + (x0 + ix - 2) + 0.25_real64
          end do
        end do
        call meta%set_coord("time", 60.0_real64 * step)
        write (name, '(a, i0, a, i0)') "ftheta_", step, "_", 3 * band + j - 1
        call client%put_tensor(trim(name), theta, meta)
      end do
      deallocate(theta)
    end do
  end subroutine case_described

  ! Every kind of value set_attr and set_coord take, replacing values, 1-based block starts, int64 shapes,
  ! a description shared by a copy and by other types and ranks.
  subroutine case_described_values()
    type(simdask_tensor_meta) :: meta, copy
    integer(int32) :: counts(3, 2)
    logical :: mask(4)
    counts = 7
    mask = [.true., .false., .true., .true.]
    call meta%initialize()
    call meta%set_attr("text", "first")
    call meta%set_attr("text", "replaced: caf" // char(195) // char(169) // ' "quoted" \   ')
    call meta%set_attr("third", 1.0_real64 / 3)
    call meta%set_attr("half", 0.5_real32)
    call meta%set_attr("tenth32", 0.1_real32)
    call meta%set_attr("big", 2_int64**62)
    call meta%set_attr("negative", -7)
    call meta%set_coord("member", "ctl")
    call meta%set_coord("time", 0.1_real64)
    call meta%set_dims([character(len=8) :: "row", "member_x"])
    call meta%set_block([10_int64, 2_int64**40], [8_int64, 2_int64**40 - 1])
    call client%put_tensor("fvalues", counts, meta)
    copy = meta
    call copy%set_dims(["m"])
    call copy%set_block([6], [3])
    call client%put_tensor("fvalues_mask", mask, copy) ! copy and meta are one description
    call client%put_tensor("fvalues_mask_too", mask, meta)
  end subroutine case_described_values

  ! Descriptions that do not fit, and misuse: SD_ERR_ARG with a message naming what; nothing written.
  subroutine case_described_errors()
    type(simdask_tensor_meta) :: none, meta, copy
    real(real64) :: a(4, 2)
    integer :: rc
    a = 1
    call none%set_dims(["x"], rc)
    call check(rc == SD_ERR_ARG, "set_dims on an uninitialized description")
    call check(index(none%last_error(), "simdask_tensor_meta is not initialized") > 0, none%last_error())
    call client%put_tensor("f_bad_meta", a, none, rc)
    call check_rc(client, rc, SD_ERR_ARG, "put with an uninitialized description")
    call check_message(client, "simdask_tensor_meta is not initialized", "uninitialized description message")
    call check_message(client, "'f_bad_meta'", "uninitialized description message names the key")
    call meta%initialize()
    call meta%set_dims(["x", "y", "z"])
    call client%put_tensor("f_bad_meta", a, meta, rc)
    call check_rc(client, rc, SD_ERR_ARG, "3 dims for a 2-d array")
    call check_message(client, "'f_bad_meta'", "dims message names the key")
    call check_message(client, "3 dimension names given for a 2-d tensor", "dims message")
    call meta%set_dims(["x", "y"])
    call meta%set_coord_array("x", [1.0_real64, 2.0_real64, 3.0_real64])
    call client%put_tensor("f_bad_meta", a, meta, rc)
    call check_rc(client, rc, SD_ERR_ARG, "coordinate of the wrong length")
    call check_message(client, "coordinate 'x' has 3 values; dimension 'x' has 4", "coordinate message")
    call meta%set_coord_array("x", [1.0_real64, 2.0_real64, 3.0_real64, 4.0_real64])
    call meta%set_block([4, 2], [0, 1], rc)
    call check(rc == SD_ERR_ARG, "a start of 0")
    call check(index(meta%last_error(), "start(1) = 0: starts are 1-based") > 0, meta%last_error())
    call meta%set_block([4, 2, 1], [1, 1], rc)
    call check(rc == SD_ERR_ARG, "global_shape and start of different sizes")
    call check(index(meta%last_error(), "global_shape has 3 values but start has 2") > 0, meta%last_error())
    call meta%set_block([4, -2], [1, 1], rc)
    call check(rc == SD_ERR_ARG, "a negative global shape")
    call check(index(meta%last_error(), "global_shape(2) = -2 is negative") > 0, meta%last_error())
    call meta%set_block([4, 2], [2, 1], rc)
    call check(rc == SD_OK .and. meta%last_error() == "", "a success clears the message")
    call client%put_tensor("f_bad_meta", a, meta, rc)
    call check_rc(client, rc, SD_ERR_ARG, "a block past the global shape")
    call check_message(client, "does not fit in the global shape (4, 2)", "block message")
    call meta%set_block([5, 2], [2, 1])
    call client%put_tensor("f_good_meta", a, meta) ! now it fits
    copy = meta
    call meta%destroy()
    call client%put_tensor("f_bad_meta", a, copy, rc)
    call check_rc(client, rc, SD_ERR_ARG, "put with a destroyed description")
    call check_message(client, "simdask_tensor_meta was destroyed", "destroyed description message")
    call copy%set_attr("units", "K", rc)
    call check(rc == SD_ERR_ARG .and. index(copy%last_error(), "destroyed") > 0, "set on a destroyed copy")
  end subroutine case_described_errors

  ! Without a status argument a refused start ends the program: exit status 1 (SD_ERR_ARG), message on stderr.
  subroutine case_fail_block()
    type(simdask_tensor_meta) :: meta
    call meta%initialize()
    call meta%set_block([8, 5], [0, 0])
    print '(a)', "still running"
  end subroutine case_fail_block

end program f_tests
