!> Fortran client of the simdask tensor store: `use simdask`.
!!
!! Wraps the C client (libsimdask) through iso_c_binding; users never need
!! iso_c_binding themselves. Arrays are written in F (column-major) order
!! with their own shape and without a copy of their data (an array section
!! that is not contiguous is copied first), so Python reads a Fortran array
!! of shape (nx, ny) with shape (nx, ny) and the same element at the same
!! index. Every type-bound function returns an integer status: SD_OK (0) or
!! one of the SD_ERR_* codes of the C client; last_error() says what failed.
!! No call waits longer than the client's timeouts (initialize's optional
!! arguments, else SIMDASK_CONNECT_TIMEOUT / SIMDASK_IO_TIMEOUT /
!! SIMDASK_RUN_TIMEOUT, else the defaults): a store that stops answering
!! makes a call return SD_ERR_TIMEOUT.
!!
!!     use simdask
!!     type(simdask_client) :: client
!!     real(8) :: u(64, 32)
!!     if (client%initialize() /= SD_OK) error stop client%last_error()   ! SIMDASK_ADDRESS
!!     if (client%put_tensor("u", u) /= SD_OK) print *, client%last_error()
!!     rc = client%destroy()
module simdask
  use, intrinsic :: iso_c_binding, only: c_ptr, c_null_ptr, c_char, c_int, c_size_t, c_null_char, &
                                         c_loc, c_associated, c_f_pointer
  implicit none
  private

  public :: simdask_client

  !> Status codes: the C client's enum sd_status, number for number.
  integer, parameter, public :: SD_OK = 0, SD_ERR_ARG = 1, SD_ERR_CONNECTION = 2, SD_ERR_NOT_FOUND = 3, &
                                SD_ERR_FORMAT = 4, SD_ERR_TYPE = 5, SD_ERR_SHAPE = 6, SD_ERR_TIMEOUT = 7, &
                                SD_ERR_MODEL = 8, SD_ERR_NOMEM = 9, SD_ERR_STORE = 10, SD_ERR_AUTH = 11, &
                                SD_ERR_CONCURRENT = 12

  ! dtype codes of the wire format and the order byte
  integer(c_int), parameter :: DT_INT32 = 3, DT_INT64 = 4, DT_FLOAT32 = 10, DT_FLOAT64 = 11
  integer(c_int), parameter :: ORDER_F = 70 ! 'F'

  ! The C client's sd_options (simdask.h), field for field.
  type, bind(C) :: c_options
    type(c_ptr) :: address, password, key_prefix, key_prefixes_in
    integer(c_int) :: connect_timeout_ms, io_timeout_ms, run_timeout_ms
  end type c_options

  !> A connection to a simdask store (standalone, Unix socket or cluster).
  type :: simdask_client
    private
    type(c_ptr) :: handle = c_null_ptr
  contains
    procedure :: initialize => client_initialize
    procedure :: destroy => client_destroy
    procedure :: last_error => client_last_error
    procedure :: tensor_exists => client_tensor_exists
    procedure :: poll_tensor => client_poll_tensor
    procedure :: delete_tensor => client_delete_tensor
    procedure :: run_model => client_run_model
    procedure :: run_script => client_run_script
    procedure, private :: put_r4, put_r8, put_i4, put_i8
    procedure, private :: unpack_r4, unpack_r8, unpack_i4, unpack_i8
    !> put_tensor(name, array): real(4|8) or integer(4|8) array of any rank
    generic :: put_tensor => put_r4, put_r8, put_i4, put_i8
    !> unpack_tensor(name, array): fill an array whose type, kind and shape are the stored tensor's
    generic :: unpack_tensor => unpack_r4, unpack_r8, unpack_i4, unpack_i8
  end type simdask_client

  interface
    subroutine sd_options_init(opt) bind(C, name="sd_options_init")
      import :: c_options
      type(c_options), intent(out) :: opt
    end subroutine sd_options_init

    integer(c_int) function sd_client_new_with_options(out, opt) bind(C, name="sd_client_new_with_options")
      import :: c_ptr, c_int, c_options
      type(c_ptr), intent(out) :: out
      type(c_options), intent(in) :: opt
    end function sd_client_new_with_options

    subroutine sd_client_free(client) bind(C, name="sd_client_free")
      import :: c_ptr
      type(c_ptr), value :: client
    end subroutine sd_client_free

    type(c_ptr) function sd_last_error(client) bind(C, name="sd_last_error")
      import :: c_ptr
      type(c_ptr), value :: client
    end function sd_last_error

    integer(c_int) function sd_put_tensor(client, name, data, dtype, ndim, shape, order) &
        bind(C, name="sd_put_tensor")
      import :: c_ptr, c_char, c_int, c_size_t
      type(c_ptr), value :: client
      character(kind=c_char), intent(in) :: name(*)
      type(c_ptr), value :: data
      integer(c_int), value :: dtype
      integer(c_size_t), value :: ndim
      integer(c_size_t), intent(in) :: shape(*)
      integer(c_int), value :: order
    end function sd_put_tensor

    integer(c_int) function sd_unpack_tensor(client, name, buffer, buffer_bytes, dtype, ndim, shape, order) &
        bind(C, name="sd_unpack_tensor")
      import :: c_ptr, c_char, c_int, c_size_t
      type(c_ptr), value :: client
      character(kind=c_char), intent(in) :: name(*)
      type(c_ptr), value :: buffer
      integer(c_size_t), value :: buffer_bytes
      integer(c_int), value :: dtype
      integer(c_size_t), value :: ndim
      integer(c_size_t), intent(in) :: shape(*)
      integer(c_int), value :: order
    end function sd_unpack_tensor

    integer(c_int) function sd_tensor_exists(client, name, exists) bind(C, name="sd_tensor_exists")
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_int), intent(out) :: exists
    end function sd_tensor_exists

    integer(c_int) function sd_poll_tensor(client, name, interval_ms, tries, exists) bind(C, name="sd_poll_tensor")
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_int), value :: interval_ms, tries
      integer(c_int), intent(out) :: exists
    end function sd_poll_tensor

    integer(c_int) function sd_delete_tensor(client, name) bind(C, name="sd_delete_tensor")
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: client
      character(kind=c_char), intent(in) :: name(*)
    end function sd_delete_tensor

    integer(c_int) function sd_run_model(client, model, n_inputs, inputs, n_outputs, outputs, timeout_ms) &
        bind(C, name="sd_run_model")
      import :: c_ptr, c_char, c_int, c_size_t
      type(c_ptr), value :: client
      character(kind=c_char), intent(in) :: model(*)
      integer(c_size_t), value :: n_inputs, n_outputs
      type(c_ptr), intent(in) :: inputs(*), outputs(*)
      integer(c_int), value :: timeout_ms
    end function sd_run_model

    integer(c_int) function sd_run_script(client, script, function, n_inputs, inputs, n_outputs, outputs, &
        timeout_ms) bind(C, name="sd_run_script")
      import :: c_ptr, c_char, c_int, c_size_t
      type(c_ptr), value :: client
      character(kind=c_char), intent(in) :: script(*), function(*)
      integer(c_size_t), value :: n_inputs, n_outputs
      type(c_ptr), intent(in) :: inputs(*), outputs(*)
      integer(c_int), value :: timeout_ms
    end function sd_run_script

    integer(c_size_t) function c_strlen(s) bind(C, name="strlen")
      import :: c_ptr, c_size_t
      type(c_ptr), value :: s
    end function c_strlen
  end interface

contains

  !> Fortran string -> NUL-terminated C string (trailing blanks dropped).
  pure function c_str(s) result(out)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=:), allocatable :: out
    out = trim(s) // c_null_char
  end function c_str

  !> Packs strings as NUL-terminated C strings into `flat` and points `ptrs` at them.
  subroutine c_str_array(strings, flat, ptrs)
    character(len=*), intent(in) :: strings(:)
    character(kind=c_char), allocatable, target, intent(inout) :: flat(:)
    type(c_ptr), allocatable, intent(inout) :: ptrs(:)
    integer :: i, j, n, pos
    allocate(flat(max(1, sum(len_trim(strings)) + size(strings))), ptrs(max(1, size(strings))))
    pos = 1
    do i = 1, size(strings)
      n = len_trim(strings(i))
      do j = 1, n
        flat(pos + j - 1) = strings(i)(j:j)
      end do
      flat(pos + n) = c_null_char
      ptrs(i) = c_loc(flat(pos))
      pos = pos + n + 1
    end do
  end subroutine c_str_array

  !> Connects to the store at `address` (host:port, unix:///path or a
  !! comma-separated cluster list), or at SIMDASK_ADDRESS when absent.
  !! Timeouts in milliseconds; each one absent is read from its variable
  !! (SIMDASK_CONNECT_TIMEOUT, SIMDASK_IO_TIMEOUT, SIMDASK_RUN_TIMEOUT, in
  !! seconds), else takes the default (10 s, 300 s, 60 s). io_timeout_ms = 0:
  !! no limit on a reply; run_timeout_ms: what run_model waits by default.
  integer function client_initialize(self, address, connect_timeout_ms, io_timeout_ms, run_timeout_ms) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in), optional :: address
    integer, intent(in), optional :: connect_timeout_ms, io_timeout_ms, run_timeout_ms
    character(kind=c_char), allocatable, target :: buf(:)
    type(c_options) :: opt
    integer :: i, n
    if (c_associated(self%handle)) call sd_client_free(self%handle)
    self%handle = c_null_ptr
    call sd_options_init(opt)
    if (present(address)) then
      n = len_trim(address)
      allocate(buf(n + 1))
      do i = 1, n
        buf(i) = address(i:i)
      end do
      buf(n + 1) = c_null_char
      opt%address = c_loc(buf)
    end if
    if (present(connect_timeout_ms)) opt%connect_timeout_ms = int(connect_timeout_ms, c_int)
    if (present(io_timeout_ms)) opt%io_timeout_ms = int(io_timeout_ms, c_int)
    if (present(run_timeout_ms)) opt%run_timeout_ms = int(run_timeout_ms, c_int)
    rc = int(sd_client_new_with_options(self%handle, opt))
  end function client_initialize

  !> Closes the connections and frees the client.
  integer function client_destroy(self) result(rc)
    class(simdask_client), intent(inout) :: self
    call sd_client_free(self%handle)
    self%handle = c_null_ptr
    rc = SD_OK
  end function client_destroy

  !> The message of the last failed call ("" after a success).
  function client_last_error(self) result(msg)
    class(simdask_client), intent(in) :: self
    character(len=:), allocatable :: msg
    character(kind=c_char), pointer :: chars(:)
    type(c_ptr) :: p
    integer :: i, n
    p = sd_last_error(self%handle)
    n = int(c_strlen(p))
    allocate(character(len=n) :: msg)
    if (n == 0) return
    call c_f_pointer(p, chars, [n])
    do i = 1, n
      msg(i:i) = chars(i)
    end do
  end function client_last_error

  integer function put_ptr(self, name, data, n, dtype, shp) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    type(c_ptr), intent(in) :: data
    integer, intent(in) :: n
    integer(c_int), intent(in) :: dtype
    integer(c_size_t), intent(in) :: shp(:)
    integer(c_size_t) :: dims(max(1, size(shp)))
    type(c_ptr) :: p
    dims(1:size(shp)) = shp
    p = data
    if (n == 0) p = c_null_ptr
    rc = int(sd_put_tensor(self%handle, c_str(name), p, dtype, int(size(shp), c_size_t), dims, ORDER_F))
  end function put_ptr

  integer function unpack_ptr(self, name, data, n, bytes, dtype, shp) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    type(c_ptr), intent(in) :: data
    integer, intent(in) :: n
    integer(c_size_t), intent(in) :: bytes
    integer(c_int), intent(in) :: dtype
    integer(c_size_t), intent(in) :: shp(:)
    integer(c_size_t) :: dims(max(1, size(shp)))
    type(c_ptr) :: p
    dims(1:size(shp)) = shp
    p = data
    if (n == 0) p = c_null_ptr
    rc = int(sd_unpack_tensor(self%handle, c_str(name), p, bytes, dtype, int(size(shp), c_size_t), dims, ORDER_F))
  end function unpack_ptr

  ! The specific procedures of put_tensor/unpack_tensor: one per type, any
  ! rank (assumed-rank dummies; `contiguous` makes the compiler pass strided
  ! sections through a contiguous temporary).

  integer function put_r4(self, name, array) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    real(4), dimension(..), intent(in), target, contiguous :: array
    rc = put_ptr(self, name, c_loc(array), size(array), DT_FLOAT32, shape(array, kind=c_size_t))
  end function put_r4

  integer function put_r8(self, name, array) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    real(8), dimension(..), intent(in), target, contiguous :: array
    rc = put_ptr(self, name, c_loc(array), size(array), DT_FLOAT64, shape(array, kind=c_size_t))
  end function put_r8

  integer function put_i4(self, name, array) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer(4), dimension(..), intent(in), target, contiguous :: array
    rc = put_ptr(self, name, c_loc(array), size(array), DT_INT32, shape(array, kind=c_size_t))
  end function put_i4

  integer function put_i8(self, name, array) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer(8), dimension(..), intent(in), target, contiguous :: array
    rc = put_ptr(self, name, c_loc(array), size(array), DT_INT64, shape(array, kind=c_size_t))
  end function put_i8

  integer function unpack_r4(self, name, array) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    real(4), dimension(..), intent(inout), target, contiguous :: array
    rc = unpack_ptr(self, name, c_loc(array), size(array), int(size(array), c_size_t) * 4_c_size_t, &
                    DT_FLOAT32, shape(array, kind=c_size_t))
  end function unpack_r4

  integer function unpack_r8(self, name, array) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    real(8), dimension(..), intent(inout), target, contiguous :: array
    rc = unpack_ptr(self, name, c_loc(array), size(array), int(size(array), c_size_t) * 8_c_size_t, &
                    DT_FLOAT64, shape(array, kind=c_size_t))
  end function unpack_r8

  integer function unpack_i4(self, name, array) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer(4), dimension(..), intent(inout), target, contiguous :: array
    rc = unpack_ptr(self, name, c_loc(array), size(array), int(size(array), c_size_t) * 4_c_size_t, &
                    DT_INT32, shape(array, kind=c_size_t))
  end function unpack_i4

  integer function unpack_i8(self, name, array) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer(8), dimension(..), intent(inout), target, contiguous :: array
    rc = unpack_ptr(self, name, c_loc(array), size(array), int(size(array), c_size_t) * 8_c_size_t, &
                    DT_INT64, shape(array, kind=c_size_t))
  end function unpack_i8

  !> Whether the tensor `name` exists (with the read prefix).
  integer function client_tensor_exists(self, name, exists) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    logical, intent(out) :: exists
    integer(c_int) :: flag
    flag = 0
    rc = int(sd_tensor_exists(self%handle, c_str(name), flag))
    exists = flag /= 0
  end function client_tensor_exists

  !> Checks for `name` up to `tries` times, `interval_ms` apart.
  integer function client_poll_tensor(self, name, interval_ms, tries, exists) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer, intent(in) :: interval_ms, tries
    logical, intent(out) :: exists
    integer(c_int) :: flag
    flag = 0
    rc = int(sd_poll_tensor(self%handle, c_str(name), int(interval_ms, c_int), int(tries, c_int), flag))
    exists = flag /= 0
  end function client_poll_tensor

  !> Deletes a tensor and its chunks (a missing tensor is no error).
  integer function client_delete_tensor(self, name) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    rc = int(sd_delete_tensor(self%handle, c_str(name)))
  end function client_delete_tensor

  !> Runs model `name` on the stored tensors `inputs`, writing `outputs`;
  !! waits up to timeout_ms (default: the client's, 60 s; < 0: no limit).
  integer function client_run_model(self, name, inputs, outputs, timeout_ms) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    character(len=*), intent(in) :: inputs(:), outputs(:)
    integer, intent(in), optional :: timeout_ms
    character(kind=c_char), allocatable, target :: in_flat(:), out_flat(:)
    type(c_ptr), allocatable :: in_ptrs(:), out_ptrs(:)
    integer(c_int) :: timeout
    timeout = 0
    if (present(timeout_ms)) timeout = int(timeout_ms, c_int)
    call c_str_array(inputs, in_flat, in_ptrs)
    call c_str_array(outputs, out_flat, out_ptrs)
    rc = int(sd_run_model(self%handle, c_str(name), int(size(inputs), c_size_t), in_ptrs, &
                          int(size(outputs), c_size_t), out_ptrs, timeout))
  end function client_run_model

  !> Runs `function` of script `name`, as run_model.
  integer function client_run_script(self, name, function, inputs, outputs, timeout_ms) result(rc)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name, function
    character(len=*), intent(in) :: inputs(:), outputs(:)
    integer, intent(in), optional :: timeout_ms
    character(kind=c_char), allocatable, target :: in_flat(:), out_flat(:)
    type(c_ptr), allocatable :: in_ptrs(:), out_ptrs(:)
    integer(c_int) :: timeout
    timeout = 0
    if (present(timeout_ms)) timeout = int(timeout_ms, c_int)
    call c_str_array(inputs, in_flat, in_ptrs)
    call c_str_array(outputs, out_flat, out_ptrs)
    rc = int(sd_run_script(self%handle, c_str(name), c_str(function), int(size(inputs), c_size_t), in_ptrs, &
                           int(size(outputs), c_size_t), out_ptrs, timeout))
  end function client_run_script

end module simdask
