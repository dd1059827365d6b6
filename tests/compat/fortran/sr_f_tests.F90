! sr_f_tests.F90: the test program of SmartRedis's Fortran API on simdask,
! driven by tests/compat/fortran/test_sr_f_*.py; written as a SmartRedis
! user writes Fortran: `use smartredis_*`, `#include "enum_fortran.inc"`,
! integer return codes, no iso_c_binding.
!
!   sr_f_tests CASE [ARGS]
!
! The store comes from SSDB (and SR_DB_TYPE), as SmartSim sets them. Failed
! checks print "FAIL ..." lines (with get_last_error() where a call failed);
! the exit status is 1 when any check failed.
module sr_f_checks
  use, intrinsic :: iso_fortran_env, only : real32, real64, int8, int16, int32, int64, error_unit
  use smartredis_client, only : client_type
  use smartredis_dataset, only : dataset_type
  use smartredis_errors, only : get_last_error
  implicit none
#include "enum_fortran.inc"
  integer :: failures = 0
contains
  subroutine check(ok, what)
    logical, intent(in) :: ok
    character(len=*), intent(in) :: what
    if (.not. ok) then
      failures = failures + 1
      write(error_unit, '(a)') "FAIL " // what
    end if
  end subroutine check

  !> `code` is `expected`; otherwise a failure showing both and the last error.
  subroutine expect(code, expected, what)
    integer, intent(in) :: code, expected
    character(len=*), intent(in) :: what
    if (code /= expected) then
      failures = failures + 1
      write(error_unit, '(a, i0, a, i0, a)') "FAIL " // what // ": code ", code, ", expected ", expected, &
        ": " // get_last_error()
    end if
  end subroutine expect

  subroutine must(code, what)
    integer, intent(in) :: code
    character(len=*), intent(in) :: what
    call expect(code, SRNoError, what)
  end subroutine must

  !> The last error's text holds `text`.
  subroutine expect_message(text, what)
    character(len=*), intent(in) :: text, what
    call check(index(get_last_error(), text) > 0, what // ": message '" // get_last_error() // "' lacks '" // &
               text // "'")
  end subroutine expect_message

#define RT_NAME roundtrip_float
#define RT_TYPE real(real32)
#define RT_VALUE(i) real((i) * 3 - 7, real32) * 0.5
#include "sr_f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_double
#define RT_TYPE real(real64)
#define RT_VALUE(i) real((i) * 3 - 7, real64) * 0.25_real64
#include "sr_f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_i8
#define RT_TYPE integer(int8)
#define RT_VALUE(i) int((i) * 3 - 7, int8)
#include "sr_f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_i16
#define RT_TYPE integer(int16)
#define RT_VALUE(i) int(((i) * 3 - 7) * 100, int16)
#include "sr_f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_i32
#define RT_TYPE integer(int32)
#define RT_VALUE(i) ((i) * 3 - 7) * 1000
#include "sr_f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE

#define RT_NAME roundtrip_i64
#define RT_TYPE integer(int64)
#define RT_VALUE(i) int((i) * 3 - 7, int64) * 10000000000_int64
#include "sr_f_roundtrip.inc"
#undef RT_NAME
#undef RT_TYPE
#undef RT_VALUE
end module sr_f_checks

program sr_f_tests
  use sr_f_checks
  use smartredis_configoptions, only : configoptions_type
  use smartredis_logcontext, only : logcontext_type
  use smartredis_logger, only : log_data, log_warning, log_error
  use smartredis_errors, only : print_last_error
  implicit none

  character(len=64) :: which
  type(client_type) :: client

  call get_command_argument(1, which)
  select case (trim(which))
  case ("roundtrip")
    call case_roundtrip()
  case ("python_in")
    call case_python_in()
  case ("sections")
    call case_sections()
  case ("dims")
    call case_dims()
  case ("misuse")
    call case_misuse()
  case ("keys")
    call case_keys()
  case ("datasets_write")
    call case_datasets_write()
  case ("datasets_read")
    call case_datasets_read()
  case ("lists")
    call case_lists()
  case ("prefixes")
    call case_prefixes()
  case ("config")
    call case_config()
  case ("logging")
    call case_logging()
  case ("models")
    call case_models()
  case ("no_serving")
    call case_no_serving()
  case ("multigpu")
    call case_multigpu()
  case ("basic")
    call case_basic()
  case default
    write(error_unit, '(a)') "unknown case '" // trim(which) // "'"
    error stop 2
  end select
  if (failures > 0) then
    write(error_unit, '(i0, a)') failures, " check(s) failed"
    error stop 1
  end if
  print '(a)', "PASSED " // trim(which)

contains

  subroutine connect()
    call must(client%initialize("sr_f_tests"), "initialize")
    call check(client%isinitialized(), "isinitialized after initialize")
  end subroutine connect

  function arg(i) result(value)
    integer, intent(in) :: i
    character(len=:), allocatable :: value
    character(len=4096) :: buf
    call get_command_argument(i, buf)
    value = trim(buf)
  end function arg

  logical function same_reals(got, expected)
    real(real64), pointer, intent(in) :: got(:)
    real(real64), intent(in) :: expected(:)
    same_reals = associated(got)
    if (same_reals) same_reals = size(got) == size(expected)
    if (same_reals) same_reals = all(got == expected)
  end function same_reals

  logical function same_ints(got, expected)
    integer(int64), pointer, intent(in) :: got(:)
    integer(int64), intent(in) :: expected(:)
    same_ints = associated(got)
    if (same_ints) same_ints = size(got) == size(expected)
    if (same_ints) same_ints = all(got == expected)
  end function same_ints

  !> The bytes of a file as one string.
  function file_bytes(path) result(bytes)
    character(len=*), intent(in) :: path
    character(len=:), allocatable :: bytes
    integer :: u, n
    open(newunit=u, file=path, access="stream", form="unformatted", action="read")
    inquire(unit=u, size=n)
    allocate(character(len=n) :: bytes)
    read(u) bytes
    close(u)
  end function file_bytes

  ! ---- tensors -------------------------------------------------------------------------------------------

  !> Every tensor type, ranks 0 (dims [1]) to 4 and 7, through the client and a dataset.
  subroutine case_roundtrip()
    type(dataset_type) :: ds
    call connect()
    call must(ds%initialize("f_rt"), "dataset initialize")
    call roundtrip_float(client, ds, "f_float")
    call roundtrip_double(client, ds, "f_double")
    call roundtrip_i8(client, ds, "f_i8")
    call roundtrip_i16(client, ds, "f_i16")
    call roundtrip_i32(client, ds, "f_i32")
    call roundtrip_i64(client, ds, "f_i64")
  end subroutine case_roundtrip

  !> Arrays numpy wrote (row-major) read with the same shape and index: a(i, j, k) == py[i-1, j-1, k-1].
  subroutine case_python_in()
    real(real64) :: c(4, 3, 2), c_expected(4, 3, 2)
    integer(int32) :: m(3, 5), m_expected(3, 5)
    real(real32) :: f(2, 2)
    integer :: i, j, k
    call connect()
    do k = 1, 2
      do j = 1, 3
        do i = 1, 4
          c_expected(i, j, k) = (i - 1) * 6 + (j - 1) * 2 + (k - 1)
        end do
      end do
    end do
    do j = 1, 5
      do i = 1, 3
        m_expected(i, j) = (i - 1) * 5 + (j - 1)
      end do
    end do
    c = -1
    call must(client%unpack_tensor("py_c", c, shape(c)), "unpack py_c")
    call check(all(c == c_expected), "py_c read with numpy's shape and index")
    m = -1
    call must(client%unpack_tensor("py_i32", m, shape(m)), "unpack py_i32")
    call check(all(m == m_expected), "py_i32 read with numpy's shape and index")
    call expect(client%unpack_tensor("py_i32", f(1:1, 1:1), [3, 5]), SRParameterError, "dims past a 1x1 buffer")
    ! the type must match the stored one
    call expect(client%unpack_tensor("py_f64_2x2", f, shape(f)), SRTypeError, "float64 into real(real32)")
    call expect_message("py_f64_2x2", "type mismatch names the tensor")
  end subroutine case_python_in

  !> Strided sections go out and come back through contiguous temporaries.
  subroutine case_sections()
    real(real64) :: a(10, 6), b(10, 6)
    integer :: i, j
    call connect()
    do j = 1, 6
      do i = 1, 10
        a(i, j) = i + 100 * j
      end do
    end do
    call must(client%put_tensor("f_section", a(1:10:2, :), [5, 6]), "put a section")
    b = -1
    call must(client%unpack_tensor("f_section", b(2:10:2, :), [5, 6]), "unpack into a section")
    call check(all(b(2:10:2, :) == a(1:10:2, :)), "the section came back")
    call check(all(b(1:10:2, :) == -1), "the rows between were not touched")
    ! dims may reshape: 12 values of a 1-D buffer as a 3 x 4 tensor
    call must(client%put_tensor("f_reshaped", [(real(i, real64), i = 1, 12)], [3, 4]), "put with dims [3, 4]")
  end subroutine case_sections

  !> dims that do not fit the array, missing keys: codes and messages, nothing read or written out of bounds.
  subroutine case_dims()
    real(real64) :: a(4, 3), small(2, 2)
    type(dataset_type) :: ds
    call connect()
    a = 1
    call expect(client%put_tensor("f_bad", a, [4, 4]), SRParameterError, "dims with more elements")
    call expect_message("f_bad", "dims message names the tensor")
    call expect_message("16", "dims message says how many elements")
    call expect(client%put_tensor("f_bad", a, [4, -3]), SRParameterError, "negative dims")
    call must(client%put_tensor("f_ok", a, shape(a)), "put f_ok")
    call expect(client%unpack_tensor("f_ok", small, [4, 3]), SRParameterError, "unpack dims past the buffer")
    call expect(client%unpack_tensor("f_ok", small, shape(small)), SRRuntimeError, "unpack with other dims")
    call expect(client%unpack_tensor("f_never_put", a, shape(a)), SRKeyError, "missing tensor")
    call expect_message("f_never_put", "missing tensor message names the key")
    call expect_message(new_line("a") // "unpack_tensor", "get_last_error ends with the failing call")
    call must(ds%initialize("f_dims"), "dataset initialize")
    call expect(ds%add_tensor("t", a, [13]), SRParameterError, "add_tensor dims past the array")
    call must(ds%add_tensor("t", a, shape(a)), "add_tensor")
    call expect(ds%unpack_dataset_tensor("t", small, [4, 3]), SRParameterError, "unpack_dataset_tensor dims past")
    call expect(ds%unpack_dataset_tensor("nope", a, shape(a)), SRKeyError, "missing dataset tensor")
  end subroutine case_dims

  !> Objects used before initialize or after destructor fail with SRParameterError; nothing crashes.
  subroutine case_misuse()
    type(client_type) :: never
    type(dataset_type) :: no_ds
    type(configoptions_type) :: no_opts
    real(real32) :: x(3)
    logical :: exists, err
    integer(int64) :: ival
    x = 1
    call check(.not. never%isinitialized(), "a new client is not initialized")
    call expect(never%put_tensor("x", x, shape(x)), SRParameterError, "put_tensor before initialize")
    call expect_message("client", "the message says the client is missing")
    call expect(never%tensor_exists("x", exists), SRParameterError, "tensor_exists before initialize")
    call expect(never%destructor(), SRNoError, "destructor of a client never initialized")
    err = never%SR_error_parser(SRNoError)
    call check(err, "SR_error_parser on an uninitialized client reports an error")

    call connect()
    call expect(client%put_dataset(no_ds), SRParameterError, "put_dataset of a dataset never initialized")
    call expect(no_ds%add_tensor("x", x, shape(x)), SRParameterError, "add_tensor before initialize")
    call expect(no_opts%get_integer_option("SR_CMD_TIMEOUT", ival), SRParameterError, "options never created")
    call expect(client%unpack_tensor("f_missing", x, shape(x)), SRKeyError, "missing tensor")
    err = client%SR_error_parser(SRKeyError)  ! writes "Key error: ..." to stderr
    call check(err, "SR_error_parser(SRKeyError) is an error")
    call check(.not. client%SR_error_parser(SRNoError), "SR_error_parser(SRNoError) is none")
    call print_last_error()                   ! the last error again, to stderr
    call check(len(client%to_string()) > 0, "to_string")

    call must(client%destructor(), "destructor")
    call check(.not. client%isinitialized(), "not initialized after destructor")
    call expect(client%put_tensor("x", x, shape(x)), SRParameterError, "put_tensor after destructor")
    call must(client%destructor(), "a second destructor")
    call connect()  ! a client can be initialized again
    call must(client%put_tensor("f_again", x, shape(x)), "put_tensor after initializing again")
  end subroutine case_misuse

  !> exists, poll, rename, copy, delete.
  subroutine case_keys()
    integer(int16) :: v(4)
    logical :: found
    call connect()
    v = [1_int16, 2_int16, 3_int16, 4_int16]
    call must(client%put_tensor("f_k", v, shape(v)), "put f_k")
    call must(client%tensor_exists("f_k", found), "tensor_exists")
    call check(found, "f_k exists")
    call must(client%key_exists("f_k", found), "key_exists")
    call check(found, "key f_k exists")
    call must(client%tensor_exists("f_none", found), "tensor_exists of a missing tensor")
    call check(.not. found, "f_none does not exist")
    call must(client%poll_tensor("f_k", 10, 3, found), "poll_tensor")
    call check(found, "poll_tensor finds f_k")
    call must(client%poll_tensor("f_none", 10, 3, found), "poll_tensor of a missing tensor")
    call check(.not. found, "poll_tensor gives up on f_none")
    call must(client%poll_key("f_k", 10, 3, found), "poll_key")
    call check(found, "poll_key finds f_k")
    call must(client%copy_tensor("f_k", "f_copy"), "copy_tensor")
    call must(client%rename_tensor("f_copy", "f_moved"), "rename_tensor")
    call must(client%tensor_exists("f_copy", found), "tensor_exists f_copy")
    call check(.not. found, "f_copy is gone after the rename")
    call must(client%put_tensor("f_gone", v, shape(v)), "put f_gone")
    call must(client%delete_tensor("f_gone"), "delete_tensor")
    call must(client%tensor_exists("f_gone", found), "tensor_exists f_gone")
    call check(.not. found, "f_gone is deleted")
    call expect(client%rename_tensor("f_none", "f_other"), SRKeyError, "rename of a missing tensor")
  end subroutine case_keys

  ! ---- datasets and lists --------------------------------------------------------------------------------

  subroutine case_datasets_write()
    type(dataset_type) :: ds, back
    real(real64) :: u(4, 3), u_back(4, 3), buf(3)
    integer(int16) :: ids(3)
    integer(int8) :: flags(2)
    real(real64), pointer :: times(:)
    real(real32), pointer :: scales(:)
    integer(int32), pointer :: counts(:)
    integer(int64), pointer :: steps(:)
    integer :: i, j, mdtype, ttype, n
    integer :: dims(3), one(1)
    logical :: found
    character(len=:), allocatable :: text

    call connect()
    do j = 1, 3
      do i = 1, 4
        u(i, j) = 10 * i + j
      end do
    end do
    ids = [7_int16, -8_int16, 9_int16]
    flags = [1_int8, 0_int8]
    call must(ds%initialize("f_ds"), "dataset initialize")
    call must(ds%add_tensor("u", u, shape(u)), "add_tensor u")
    call must(ds%add_tensor("ids", ids, shape(ids)), "add_tensor ids")
    call must(ds%add_tensor("flags", flags, shape(flags)), "add_tensor flags")
    ! add_tensor copies: a buffer reused in a time loop does not change what was added
    do i = 1, 2
      buf = real(i, real64)
      call must(ds%add_tensor("step" // achar(iachar("0") + i), buf, shape(buf)), "add_tensor from the buffer")
    end do
    buf = -1
    call must(ds%add_meta_scalar("time", 1.5_real64), "add_meta_scalar time")
    call must(ds%add_meta_scalar("time", 2.5_real64), "add_meta_scalar time again")
    call must(ds%add_meta_scalar("scale", 0.5_real32), "add_meta_scalar scale")
    call must(ds%add_meta_scalar("count", 3_int32), "add_meta_scalar count")
    call must(ds%add_meta_scalar("step", 7_int64), "add_meta_scalar step")
    call must(ds%add_meta_string("source", "fortran"), "add_meta_string source")
    call must(ds%add_meta_string("source", "sr_f_tests"), "add_meta_string source again")
    call expect(ds%add_meta_scalar("time", 3_int32), SRTypeError, "an int32 into a real(8) field")

    ! what the dataset says about itself
    call must(ds%get_metadata_field_type("time", mdtype), "get_metadata_field_type time")
    call expect(mdtype, meta_dbl, "time is meta_dbl")
    call must(ds%get_metadata_field_type("scale", mdtype), "get_metadata_field_type scale")
    call expect(mdtype, meta_flt, "scale is meta_flt")
    call must(ds%get_metadata_field_type("count", mdtype), "get_metadata_field_type count")
    call expect(mdtype, meta_int32, "count is meta_int32")
    call must(ds%get_metadata_field_type("step", mdtype), "get_metadata_field_type step")
    call expect(mdtype, meta_int64, "step is meta_int64")
    call must(ds%get_metadata_field_type("source", mdtype), "get_metadata_field_type source")
    call expect(mdtype, meta_string, "source is meta_string")
    call expect(ds%get_metadata_field_type("nope", mdtype), SRKeyError, "type of a missing field")
    call must(ds%get_tensor_type("u", ttype), "get_tensor_type u")
    call expect(ttype, tensor_dbl, "u is tensor_dbl")
    call must(ds%get_tensor_type("ids", ttype), "get_tensor_type ids")
    call expect(ttype, tensor_int16, "ids is tensor_int16")
    n = size(dims)
    dims = 0
    call must(ds%get_tensor_dims("u", dims, n), "get_tensor_dims u")
    call check(n == 2 .and. dims(1) == 4 .and. dims(2) == 3, "dims of u are [4, 3]")
    n = 1
    call expect(ds%get_tensor_dims("u", one, n), SRBadAllocError, "get_tensor_dims with room for one")
    call expect(n, 2, "get_tensor_dims says how much room it needs")

    call must(ds%get_meta_scalars("time", times), "get_meta_scalars time")
    call check(same_reals(times, [1.5_real64, 2.5_real64]), "time values")
    call must(ds%get_meta_scalars("scale", scales), "get_meta_scalars scale")
    call check(associated(scales), "scale values")
    if (associated(scales)) call check(size(scales) == 1 .and. scales(1) == 0.5_real32, "scale value")
    call must(ds%get_meta_scalars("count", counts), "get_meta_scalars count")
    call check(associated(counts), "count values")
    if (associated(counts)) call check(size(counts) == 1 .and. counts(1) == 3, "count value")
    call must(ds%get_meta_scalars("step", steps), "get_meta_scalars step")
    call check(same_ints(steps, [7_int64]), "step value")
    call expect(ds%get_meta_scalars("time", steps), SRTypeError, "a real(8) field read as int64")
    call expect_message("time", "type mismatch names the field")
    call check(.not. associated(steps), "the pointer is null after a failure")
    call expect(ds%get_meta_scalars("nope", times), SRKeyError, "a missing field")

    text = ds%to_string()
    call check(index(text, "f_ds") > 0, "to_string names the dataset: " // text)
    call must(client%put_dataset(ds), "put_dataset")
    call must(client%dataset_exists("f_ds", found), "dataset_exists")
    call check(found, "f_ds exists")
    call must(client%poll_dataset("f_ds", 10, 3, found), "poll_dataset")
    call check(found, "poll_dataset finds f_ds")

    ! read back
    call must(client%get_dataset("f_ds", back), "get_dataset")
    u_back = 0
    call must(back%unpack_dataset_tensor("u", u_back, shape(u_back)), "unpack u")
    call check(all(u_back == u), "u came back")
    call must(back%unpack_dataset_tensor("step1", buf, shape(buf)), "unpack step1")
    call check(all(buf == 1), "step1 holds what the buffer held when added")
    call must(back%get_meta_scalars("time", times), "get_meta_scalars of the fetched dataset")
    call check(same_reals(times, [1.5_real64, 2.5_real64]), "times of the fetched dataset")
    call expect(client%get_dataset("f_no_ds", back), SRKeyError, "get_dataset of a missing dataset")
  end subroutine case_datasets_write

  !> A dataset written in Python, read here; copy, rename, delete.
  subroutine case_datasets_read()
    type(dataset_type) :: ds
    real(real64) :: temp(3, 4)
    real(real32), pointer :: dt(:)
    integer(int64), pointer :: steps(:)
    integer :: i
    logical :: found
    call connect()
    call must(client%get_dataset("py_ds", ds), "get_dataset py_ds")
    temp = -1
    call must(ds%unpack_dataset_tensor("temp", temp, shape(temp)), "unpack temp")
    call check(all(temp == transpose(reshape([(real(i, real64), i = 0, 11)], [4, 3]))), "temp as numpy wrote it")
    call must(ds%get_meta_scalars("dt", dt), "get_meta_scalars dt")
    call check(associated(dt), "dt values")
    if (associated(dt)) call check(size(dt) == 1 .and. dt(1) == 0.5_real32, "dt value")
    call must(ds%get_meta_scalars("steps", steps), "get_meta_scalars steps")
    call check(same_ints(steps, [10_int64, 20_int64]), "steps values")
    call must(client%copy_dataset("py_ds", "f_ds_copy"), "copy_dataset")
    call must(client%rename_dataset("f_ds_copy", "f_ds_moved"), "rename_dataset")
    call must(client%dataset_exists("f_ds_copy", found), "dataset_exists f_ds_copy")
    call check(.not. found, "f_ds_copy is gone after the rename")
    call must(client%dataset_exists("f_ds_moved", found), "dataset_exists f_ds_moved")
    call check(found, "f_ds_moved exists")
    call must(client%delete_dataset("py_ds"), "delete_dataset")
    call must(client%dataset_exists("py_ds", found), "dataset_exists py_ds")
    call check(.not. found, "py_ds is deleted")
  end subroutine case_datasets_read

  subroutine case_lists()
    type(dataset_type) :: entry
    type(dataset_type), allocatable :: got(:)
    real(real64) :: v(2)
    integer :: i, n
    logical :: reached
    character(len=8) :: name

    call connect()
    do i = 1, 3
      write(name, '(a, i0)') "f_e", i
      call must(entry%initialize(trim(name)), "dataset initialize")
      v = [real(i, real64), real(-i, real64)]
      call must(entry%add_tensor("v", v, shape(v)), "add_tensor v")
      call must(client%put_dataset(entry), "put_dataset " // trim(name))
      call must(client%append_to_list("f_list", entry), "append_to_list " // trim(name))
    end do
    call must(client%get_list_length("f_list", n), "get_list_length")
    call expect(n, 3, "f_list has 3 entries")
    call must(client%poll_list_length("f_list", 3, 10, 3, reached), "poll_list_length")
    call check(reached, "poll_list_length 3")
    call must(client%poll_list_length_gte("f_list", 2, 10, 3, reached), "poll_list_length_gte")
    call check(reached, "poll_list_length_gte 2")
    call must(client%poll_list_length_lte("f_list", 2, 10, 3, reached), "poll_list_length_lte")
    call check(.not. reached, "poll_list_length_lte 2 gives up")
    call must(client%get_datasets_from_list("f_list", got, n), "get_datasets_from_list")
    call expect(n, 3, "3 datasets from the list")
    call expect(size(got), 3, "3 datasets allocated")
    do i = 1, min(n, size(got))
      call must(got(i)%unpack_dataset_tensor("v", v, shape(v)), "unpack v of entry")
      call check(v(1) == i .and. v(2) == -i, "entries in list order")
    end do
    call must(client%get_datasets_from_list_range("f_list", 1, -1, got), "get_datasets_from_list_range 1..-1")
    call expect(size(got), 2, "entries 1..-1")
    if (size(got) == 2) then
      call must(got(1)%unpack_dataset_tensor("v", v, shape(v)), "unpack v of range entry")
      call check(v(1) == 2, "the range starts at the second entry")
    end if
    call must(client%get_datasets_from_list_range("f_list", -1, -1, got), "range -1..-1")
    call expect(size(got), 1, "the last entry")
    call must(client%get_datasets_from_list_range("f_list", 5, 9, got), "a range past the end")
    call expect(size(got), 0, "no entry past the end")
    call must(client%copy_list("f_list", "f_list2"), "copy_list")
    call must(client%rename_list("f_list2", "f_list3"), "rename_list")
    call must(client%get_list_length("f_list3", n), "get_list_length f_list3")
    call expect(n, 3, "the renamed copy has 3 entries")
    call must(client%delete_list("f_list"), "delete_list")
    call must(client%get_list_length("f_list", n), "get_list_length of a deleted list")
    call expect(n, 0, "a deleted list is empty")
  end subroutine case_lists

  !> SSKEYOUT=m0, SSKEYIN=m0,m1 (set by the test): keys are prefixed as SmartSim's ensembles expect.
  subroutine case_prefixes()
    real(real64) :: u(3), v(2)
    type(dataset_type) :: ds
    logical :: found
    call connect()
    u = [1, 2, 3]
    call must(client%put_tensor("u", u, shape(u)), "put u (stored as m0.u)")
    call must(client%tensor_exists("u", found), "tensor_exists u")
    call check(found, "u is found through the prefix")
    call must(client%set_data_source("m1"), "set_data_source m1")
    call must(client%unpack_tensor("v", v, shape(v)), "unpack v from m1")
    call check(all(v == [5, 6]), "m1.v read")
    call check(client%set_data_source("m9") /= SRNoError, "a source not in SSKEYIN is refused")
    call must(client%use_tensor_ensemble_prefix(.false.), "use_tensor_ensemble_prefix off")
    call must(client%put_tensor("plain", u, shape(u)), "put plain (no prefix)")
    call must(ds%initialize("ds"), "dataset initialize")
    call must(ds%add_tensor("u", u, shape(u)), "add_tensor")
    call must(client%put_dataset(ds), "put_dataset ds (stored under m0)")
    call must(client%use_dataset_ensemble_prefix(.false.), "use_dataset_ensemble_prefix off")
    call must(client%put_dataset(ds), "put_dataset ds (no prefix)")
    call must(client%append_to_list("agg", ds), "append_to_list agg (m0.agg: lists are prefixed by default)")
    call must(client%use_list_ensemble_prefix(.false.), "use_list_ensemble_prefix off")
    call must(client%append_to_list("agg_plain", ds), "append_to_list agg_plain (no prefix)")
    call must(client%use_model_ensemble_prefix(.true.), "use_model_ensemble_prefix on")
  end subroutine case_prefixes

  ! ---- configuration, errors, logging --------------------------------------------------------------------

  !> ConfigOptions with a suffix: SSDB_OCEAN (set by the test, SSDB unset); argv(2) is the expected address.
  subroutine case_config()
    type(configoptions_type) :: opts
    character(len=:), allocatable :: text
    integer(int64) :: value
    logical :: set
    real(real32) :: x(2)
    call must(opts%create_configoptions_from_environment("OCEAN"), "create_configoptions_from_environment")
    call must(opts%is_configured("SSDB", set), "is_configured SSDB")
    call check(set, "SSDB is configured (from SSDB_OCEAN)")
    call must(opts%get_string_option("SSDB", text), "get_string_option SSDB")
    call check(text == arg(2), "SSDB is SSDB_OCEAN's value: " // text)
    call must(opts%is_configured("f_unset", set), "is_configured of an unset option")
    call check(.not. set, "f_unset is not configured")
    call expect(opts%get_string_option("f_unset", text), SRKeyError, "get_string_option of an unset option")
    call must(opts%override_integer_option("f_int", 42_int64), "override_integer_option")
    value = 0
    call must(opts%get_integer_option("f_int", value), "get_integer_option")
    call expect(int(value), 42, "the overridden integer")
    call must(opts%override_string_option("f_str", "abc"), "override_string_option")
    call must(opts%get_string_option("f_str", text), "get_string_option f_str")
    call check(text == "abc", "the overridden string")
    call expect(opts%get_integer_option("f_str", value), SRParameterError, "a string read as an integer")
    call must(client%initialize(opts, "f_cfg"), "initialize from ConfigOptions")
    x = [1, 2]
    call must(client%put_tensor("f_cfg_x", x, shape(x)), "put through the configured client")
  end subroutine case_config

  !> SR_LOG_FILE and SR_LOG_LEVEL=INFO set by the test, which reads the file.
  subroutine case_logging()
    type(logcontext_type) :: ctx
    type(dataset_type) :: ds
    call connect()
    call must(ctx%initialize("f_ctx"), "logcontext initialize")
    call must(ds%initialize("f_log_ds"), "dataset initialize")
    call log_data(client, LLInfo, "data from the client")
    call log_warning(ds, LLInfo, "warning from the dataset")
    call log_error(ctx, LLInfo, "error from the context")
    call log_data("f_string_ctx", LLInfo, "data from a string context")
    call log_data(ctx, LLDebug, "too verbose for INFO")
  end subroutine case_logging

  ! ---- models and scripts --------------------------------------------------------------------------------

  !> argv: a TorchScript file (y = 2 x), a script file (def twice(x)). Needs serving loops (Store(serve=1)).
  subroutine case_models()
    real(real32) :: x(2, 3), y(2, 3)
    character(len=:), allocatable :: model_bytes, script_text
    character(len=:), allocatable :: got
    character(len=4) :: too_short
    logical :: found
    integer :: i

    call connect()
    x = reshape([(real(i, real32), i = 1, 6)], shape(x))
    model_bytes = file_bytes(arg(2))
    script_text = file_bytes(arg(3))
    call must(client%set_model_from_file("f_double", arg(2), "TORCH", "CPU"), "set_model_from_file")
    call must(client%model_exists("f_double", found), "model_exists")
    call check(found, "f_double exists")
    call must(client%poll_model("f_double", 10, 3, found), "poll_model")
    call check(found, "poll_model finds f_double")
    call must(client%put_tensor("f_x", x, shape(x)), "put f_x")
    call must(client%run_model("f_double", ["f_x"], ["f_y"]), "run_model")
    y = 0
    call must(client%unpack_tensor("f_y", y, shape(y)), "unpack f_y")
    call check(all(y == 2 * x), "the model doubled f_x")

    call must(client%set_model("f_double_bytes", model_bytes, "TORCH", "CPU", 0, 0, 0, "from fortran", &
                               [character(len=4) :: "x"], [character(len=4) :: "y"]), "set_model")
    call must(client%run_model("f_double_bytes", ["f_x"], ["f_y2"]), "run_model of the bytes")
    allocate(character(len=len(model_bytes)) :: got)
    call must(client%get_model("f_double", got), "get_model")
    call check(got == model_bytes, "get_model gives the file's bytes")
    call expect(client%get_model("f_double", too_short), SRParameterError, "get_model into 4 characters")
    call expect_message("f_double", "too-short message names the model")

    call must(client%set_script("f_ops", "CPU", script_text), "set_script")
    call must(client%set_script_from_file("f_ops_file", "CPU", arg(3)), "set_script_from_file")
    call must(client%run_script("f_ops", "twice", ["f_x"], ["f_z"]), "run_script")
    y = 0
    call must(client%unpack_tensor("f_z", y, shape(y)), "unpack f_z")
    call check(all(y == 2 * x), "the script doubled f_x")
    call must(client%run_script("f_ops_file", "twice", ["f_y"], ["f_w"]), "run_script of the file")
    call must(client%unpack_tensor("f_w", y, shape(y)), "unpack f_w")
    call check(all(y == 4 * x), "the script file doubled f_y")
    deallocate(got)
    allocate(character(len=len(script_text) + 10) :: got)
    call must(client%get_script("f_ops", got), "get_script")
    call check(trim(got) == trim(script_text), "get_script gives the source")

    call expect(client%set_model_from_file("f_tf", arg(2), "TF", "CPU"), SRParameterError, "backend TF")
    call expect_message("TORCH", "the TF refusal names what is supported")
    call expect(client%run_script("f_ops", "no_such_function", ["f_x"], ["f_q"]), SRRuntimeError, &
                "run_script of a missing function")
    call must(client%delete_model("f_double_bytes"), "delete_model")
    call must(client%model_exists("f_double_bytes", found), "model_exists after delete")
    call check(.not. found, "f_double_bytes is deleted")
    call must(client%delete_script("f_ops_file"), "delete_script")
    call check(client%run_model("f_double_bytes", ["f_x"], ["f_y3"]) /= SRNoError, "run_model of a deleted model")
  end subroutine case_models

  !> A store without serving loops: run_model fails at once saying what to start.
  subroutine case_no_serving()
    real(real32) :: x(2)
    call connect()
    x = [1, 2]
    call must(client%set_model_from_file("f_double", arg(2), "TORCH", "CPU"), "set_model_from_file")
    call must(client%put_tensor("f_x", x, shape(x)), "put f_x")
    call expect(client%run_model("f_double", ["f_x"], ["f_y"]), SRRuntimeError, "run_model without serving loops")
    call expect_message("serving loop", "the message says what to start")
  end subroutine case_no_serving

  !> The _multigpu forms store one copy per GPU (name.GPU:i) and delete them all; argv(2): a TorchScript file.
  subroutine case_multigpu()
    character(len=:), allocatable :: model_bytes
    logical :: found
    call connect()
    model_bytes = file_bytes(arg(2))
    call must(client%set_model_multigpu("f_mg", model_bytes, "TORCH", 0, 2, 0, 0, 0, "", &
                                        [character(len=1) :: ], [character(len=1) :: ]), "set_model_multigpu")
    call must(client%set_model_from_file_multigpu("f_mgf", arg(2), "TORCH", 1, 2), "set_model_from_file_multigpu")
    call must(client%set_script_multigpu("f_mgs", "def twice(x):" // new_line("a") // "    return 2 * x", 0, 2), &
              "set_script_multigpu")
    call must(client%model_exists("f_mg.GPU:1", found), "model_exists f_mg.GPU:1")
    call check(found, "a copy on GPU 1")
    call expect(client%set_model_multigpu("f_bad", model_bytes, "TORCH", 0, 0, 0, 0, 0, "", &
                                          [character(len=1) :: ], [character(len=1) :: ]), SRParameterError, &
                "num_gpus 0")
    call must(client%delete_model_multigpu("f_mg", 0, 2), "delete_model_multigpu")
    call must(client%model_exists("f_mg.GPU:0", found), "model_exists f_mg.GPU:0 after delete")
    call check(.not. found, "the copies are deleted")
    call must(client%delete_script_multigpu("f_mgs", 0, 2), "delete_script_multigpu")
  end subroutine case_multigpu

  ! ---- every kind of store -------------------------------------------------------------------------------

  !> The common calls through all three initialize forms, on the store SSDB / SR_DB_TYPE name.
  subroutine case_basic()
    type(client_type) :: old_style, other_flag
    type(dataset_type) :: ds
    type(dataset_type), allocatable :: got(:)
    real(real64) :: a(5, 3, 2), b(5, 3, 2)
    integer :: i, n
    logical :: found
    call connect()
    call must(old_style%initialize(.true., "deprecated form"), "initialize(.true., logger_name)")
    call must(other_flag%initialize(.false.), "initialize(.false.)")
    a = reshape([(real(i, real64), i = 1, size(a))], shape(a))
    call must(client%put_tensor("f_a", a, shape(a)), "put_tensor")
    b = 0
    call must(old_style%unpack_tensor("f_a", b, shape(b)), "unpack_tensor through the other client")
    call check(all(a == b), "f_a came back")
    b = 0
    call must(other_flag%unpack_tensor("f_a", b, shape(b)), "unpack_tensor through the third client")
    call check(all(a == b), "f_a came back again")
    call must(ds%initialize("f_basic_ds"), "dataset initialize")
    call must(ds%add_tensor("a", a, shape(a)), "add_tensor")
    call must(ds%add_meta_string("who", "basic"), "add_meta_string")
    call must(client%put_dataset(ds), "put_dataset")
    call must(client%append_to_list("f_basic_list", ds), "append_to_list")
    call must(client%get_datasets_from_list("f_basic_list", got, n), "get_datasets_from_list")
    call expect(n, 1, "one dataset in the list")
    if (n == 1) then
      b = 0
      call must(got(1)%unpack_dataset_tensor("a", b, shape(b)), "unpack from the listed dataset")
      call check(all(a == b), "the listed dataset's tensor")
    end if
    call must(client%copy_tensor("f_a", "f_a2"), "copy_tensor")
    call must(client%delete_tensor("f_a"), "delete_tensor")
    call must(client%tensor_exists("f_a", found), "tensor_exists")
    call check(.not. found, "f_a deleted")
    call must(old_style%destructor(), "destructor")
    call must(other_flag%destructor(), "destructor")
    call must(client%destructor(), "destructor")
  end subroutine case_basic

end program sr_f_tests
