!> Fortran client of the simdask tensor store: `use simdask`.
!!
!! Wraps the C client (libsimdask) through iso_c_binding; users never need
!! iso_c_binding themselves. Three types: simdask_client (a connection to
!! the store), simdask_dataset (named tensors plus metadata, written and read
!! as one) and simdask_tensor_meta (what a tensor means: dimension names,
!! attrs, coordinates, its block of a global array). Arrays are written in
!! F (column-major) order with their own shape and without a copy (a
!! strided section is copied to a contiguous temporary first), so Python
!! reads an array of shape (nx, ny) with shape (nx, ny) and the same
!! element at the same index. Types: real(real32|real64),
!! integer(int8|int16|int32|int64), complex(real32|real64) (numpy complex64 |
!! complex128) and logical of the default kind or c_bool (numpy bool, one
!! byte 0/1 per element), any rank.
!!
!! Failures (docs/fortran.md): every call is a subroutine whose last argument
!! is an optional `status`. With it, the call returns SD_OK (0) or one of the
!! SD_ERR_* codes below and last_error() says why. Without it, a failure
!! writes "simdask: <call> failed (<code name>): <message>" to stderr and
!! ends the program with `error stop <code>` (a non-zero exit status), so a
!! batch system never sees a failed run succeed. A client, dataset or
!! tensor description used before initialize or after destroy fails with
!! SD_ERR_ARG saying so.
!!
!!     use simdask
!!     type(simdask_client) :: client
!!     real(real64) :: u(64, 32)
!!     integer :: rc
!!     call client%initialize()                  ! SIMDASK_ADDRESS; stops the program if it fails
!!     call client%put_tensor("u", u)
!!     call client%unpack_tensor("v", u, status=rc)
!!     if (rc == SD_ERR_NOT_FOUND) print '(a)', client%last_error()
!!
!! No call waits longer than the client's timeouts (initialize's optional
!! arguments, else SIMDASK_CONNECT_TIMEOUT / SIMDASK_IO_TIMEOUT /
!! SIMDASK_RUN_TIMEOUT, else the defaults): a store that stops answering
!! makes a call fail with SD_ERR_TIMEOUT.
!!
!! Lifetime: a client, dataset or tensor description frees its C object
!! when the last variable holding it goes away (the `final` procedures) or
!! at destroy(). Assigning one to another (b = a, also inside a derived
!! type or an array) shares the object: it is freed once, after both are
!! gone, and destroy() through either destroys it for both. Each variable
!! keeps the message of its own last call. Handles live in a pool that is
!! never freed, so that no copy, however the compiler makes it, frees an
!! object twice or uses a freed one: creating, copying and freeing
!! clients, datasets and descriptions is therefore not thread-safe; calls
!! on distinct clients are.
!!
!! Adding a call (the pattern of every procedure below):
!!   1. declare the C function in simdask_c_api.inc (bind(C), strings as
!!      character(kind=c_char) arrays passed through c_str(), scalars by value);
!!   2. bind a subroutine to the type: its last dummy argument is
!!      `integer, intent(out), optional :: status`; it begins with
!!      `call client_enter(self, "<call>", p, status)` and returns when p is
!!      not c_associated (misuse, already reported), then calls C with p and
!!      ends with `call client_done(self, "<call>", rc, status)` (datasets:
!!      dataset_enter / dataset_done; descriptions: meta_enter / meta_done);
!!      a failure found on the Fortran side is reported with
!!      `call fail(self%msg, "<call>", code, message, status)`;
!!   3. a typed call (one specific per type and kind) goes in
!!      simdask_arrays.inc, bound under a generic name;
!!   4. list it in docs/fortran.md and test it in tests/client_fortran.
module simdask
  use, intrinsic :: iso_c_binding, only: c_ptr, c_null_ptr, c_char, c_int, c_size_t, c_long_long, c_double, &
                                         c_bool, c_null_char, c_loc, c_associated, c_f_pointer
  use, intrinsic :: iso_fortran_env, only: real32, real64, int8, int16, int32, int64, error_unit
  implicit none
  private

  public :: simdask_client, simdask_dataset, simdask_tensor_meta

  !> Status codes: the C client's enum sd_status, number for number.
  integer, parameter, public :: SD_OK = 0, SD_ERR_ARG = 1, SD_ERR_CONNECTION = 2, SD_ERR_NOT_FOUND = 3, &
                                SD_ERR_FORMAT = 4, SD_ERR_TYPE = 5, SD_ERR_SHAPE = 6, SD_ERR_TIMEOUT = 7, &
                                SD_ERR_MODEL = 8, SD_ERR_NOMEM = 9, SD_ERR_STORE = 10, SD_ERR_AUTH = 11, &
                                SD_ERR_CONCURRENT = 12

  ! dtype codes of the wire format (docs/protocol.md) and the order byte
  integer(c_int), parameter :: DT_INT8 = 1, DT_INT16 = 2, DT_INT32 = 3, DT_INT64 = 4, DT_FLOAT32 = 10, &
                               DT_FLOAT64 = 11, DT_COMPLEX64 = 12, DT_COMPLEX128 = 13, DT_BOOL = 14
  integer(c_int), parameter :: ORDER_F = 70 ! 'F'
  integer, parameter :: MSG_LEN = 1024 ! the C client's messages are shorter

  ! The C client's sd_options and sd_model_options (simdask.h), field for field.
  type, bind(C) :: c_options
    type(c_ptr) :: address, password, key_prefix, key_prefixes_in
    integer(c_int) :: connect_timeout_ms, io_timeout_ms, run_timeout_ms, run_lease_ms
    integer(c_int) :: no_launcher_runs, deletes_from_source
    type(c_ptr) :: node
  end type c_options

  type, bind(C) :: c_model_options
    type(c_ptr) :: device
    integer(c_int) :: batch_size, min_batch_size, min_batch_timeout_ms
    type(c_ptr) :: tag
    integer(c_size_t) :: n_inputs
    type(c_ptr) :: inputs
    integer(c_size_t) :: n_outputs
    type(c_ptr) :: outputs
  end type c_model_options

  ! sd_model_options and the C strings it points at (alive as long as this is).
  type :: model_settings
    type(c_model_options) :: opt
    character(kind=c_char), allocatable :: device(:), tag(:), in_flat(:), out_flat(:)
    type(c_ptr), allocatable :: in_ptrs(:), out_ptrs(:)
  end type model_settings

  ! One C object (a client, a dataset or a tensor description) and the variables that hold it.
  ! Handles are recycled, never deallocated: a variable that still points at
  ! one recycled meanwhile sees another generation and counts as destroyed,
  ! so no copy, however made, can free an object twice or use a freed one.
  type :: handle
    type(c_ptr) :: ptr = c_null_ptr       ! null once destroyed
    integer :: refs = 0                   ! variables holding it
    integer :: gen = 0                    ! bumped when it is recycled
    logical :: is_dataset = .false.
    logical :: is_meta = .false.          ! an sd_tensor_meta (is_dataset false)
    type(handle), pointer :: next => null() ! the pool of free handles
  end type handle

  type(handle), pointer, save :: free_handles => null()

  ! What a client, dataset or description variable holds: a handle and its generation then.
  type :: holder
    type(handle), pointer :: h => null()
    integer :: gen = -1
  end type holder

  !> A connection to a simdask store (standalone, Unix socket or cluster).
  type :: simdask_client
    private
    type(holder) :: ref
    character(len=MSG_LEN) :: msg = "" ! no allocatable component: gfortran 12 mishandles them in copies
  contains
    procedure :: initialize => client_initialize
    procedure :: destroy => client_destroy
    procedure :: last_error => client_last_error
    procedure :: set_data_source => client_set_data_source
    ! runs
    procedure :: begin_run => client_begin_run
    procedure :: end_run => client_end_run
    procedure :: run_number => client_run_number
    ! tensors
    procedure, private :: put_r32, put_r64, put_i8, put_i16, put_i32, put_i64, put_c32, put_c64, put_l, put_lc
    procedure, private :: unpack_r32, unpack_r64, unpack_i8, unpack_i16, unpack_i32, unpack_i64, unpack_c32, &
                          unpack_c64, unpack_l, unpack_lc
    !> put_tensor(name, array[, status]): an array of any rank and of any of the module's types
    generic :: put_tensor => put_r32, put_r64, put_i8, put_i16, put_i32, put_i64, put_c32, put_c64, put_l, put_lc
    procedure, private :: put_meta_r32, put_meta_r64, put_meta_i8, put_meta_i16, put_meta_i32, put_meta_i64, &
                          put_meta_c32, put_meta_c64, put_meta_l, put_meta_lc
    !> put_tensor(name, array, meta[, status]): the same, described by a simdask_tensor_meta
    generic :: put_tensor => put_meta_r32, put_meta_r64, put_meta_i8, put_meta_i16, put_meta_i32, put_meta_i64, &
                             put_meta_c32, put_meta_c64, put_meta_l, put_meta_lc
    !> unpack_tensor(name, array[, status]): fill an array whose type and shape are the stored tensor's
    generic :: unpack_tensor => unpack_r32, unpack_r64, unpack_i8, unpack_i16, unpack_i32, unpack_i64, unpack_c32, &
                                unpack_c64, unpack_l, unpack_lc
    procedure :: tensor_exists => client_tensor_exists
    procedure :: key_exists => client_key_exists
    procedure :: poll_tensor => client_poll_tensor
    procedure :: delete_tensor => client_delete_tensor
    procedure :: copy_tensor => client_copy_tensor
    procedure :: rename_tensor => client_rename_tensor
    ! datasets and aggregation lists
    procedure :: put_dataset => client_put_dataset
    procedure :: get_dataset => client_get_dataset
    procedure :: delete_dataset => client_delete_dataset
    procedure :: dataset_exists => client_dataset_exists
    procedure :: poll_dataset => client_poll_dataset
    procedure :: append_to_list => client_append_to_list
    procedure :: get_list_length => client_get_list_length
    procedure :: poll_list_length => client_poll_list_length
    procedure :: poll_list_length_gte => client_poll_list_length_gte
    procedure :: poll_list_length_lte => client_poll_list_length_lte
    procedure :: get_datasets_from_list => client_get_datasets_from_list
    procedure :: delete_list => client_delete_list
    ! models, scripts and run requests
    procedure :: set_model => client_set_model
    procedure :: set_model_from_file => client_set_model_from_file
    procedure :: set_script => client_set_script
    procedure :: set_script_from_file => client_set_script_from_file
    procedure :: model_exists => client_model_exists
    procedure :: delete_model => client_delete_model
    procedure :: delete_script => client_delete_script
    procedure :: run_model => client_run_model
    procedure :: run_script => client_run_script
    procedure, private :: client_assign
    generic :: assignment(=) => client_assign
    final :: client_final
  end type simdask_client

  !> Named tensors and metadata fields, put and read as one (SmartRedis's DataSet).
  type :: simdask_dataset
    private
    type(holder) :: ref
    character(len=MSG_LEN) :: msg = "" ! no allocatable component: gfortran 12 mishandles them in copies
  contains
    procedure :: initialize => dataset_initialize
    procedure :: destroy => dataset_destroy
    procedure :: last_error => dataset_last_error
    procedure :: name => dataset_name
    procedure, private :: add_r32, add_r64, add_i8, add_i16, add_i32, add_i64, add_c32, add_c64, add_l, add_lc
    procedure, private :: ds_unpack_r32, ds_unpack_r64, ds_unpack_i8, ds_unpack_i16, ds_unpack_i32, &
                          ds_unpack_i64, ds_unpack_c32, ds_unpack_c64, ds_unpack_l, ds_unpack_lc
    !> add_tensor(name, array[, status]): copies the array into the dataset
    generic :: add_tensor => add_r32, add_r64, add_i8, add_i16, add_i32, add_i64, add_c32, add_c64, add_l, add_lc
    !> unpack_tensor(name, array[, status]): as the client's, from the dataset
    generic :: unpack_tensor => ds_unpack_r32, ds_unpack_r64, ds_unpack_i8, ds_unpack_i16, ds_unpack_i32, &
                                ds_unpack_i64, ds_unpack_c32, ds_unpack_c64, ds_unpack_l, ds_unpack_lc
    procedure :: tensor_shape => dataset_tensor_shape
    procedure :: tensor_names => dataset_tensor_names
    procedure, private :: meta_add_r32, meta_add_r64, meta_add_i8, meta_add_i16, meta_add_i32, meta_add_i64, &
                          meta_add_c32, meta_add_c64
    procedure, private :: meta_get_r32, meta_get_r64, meta_get_i8, meta_get_i16, meta_get_i32, meta_get_i64, &
                          meta_get_c32, meta_get_c64
    !> add_meta_scalar(field, value[, status]): appends a number to a scalar field (one type per field)
    generic :: add_meta_scalar => meta_add_r32, meta_add_r64, meta_add_i8, meta_add_i16, meta_add_i32, &
                                  meta_add_i64, meta_add_c32, meta_add_c64
    !> get_meta_scalars(field, values[, status]): the field's numbers into an allocatable array of its type
    generic :: get_meta_scalars => meta_get_r32, meta_get_r64, meta_get_i8, meta_get_i16, meta_get_i32, &
                                   meta_get_i64, meta_get_c32, meta_get_c64
    procedure :: add_meta_string => dataset_add_meta_string
    procedure :: get_meta_strings => dataset_get_meta_strings
    procedure :: meta_names => dataset_meta_names
    procedure, private :: dataset_assign
    generic :: assignment(=) => dataset_assign
    final :: dataset_final
  end type simdask_dataset

  !> What a tensor means (docs/protocol.md, "Describing a tensor"), given to
  !! client%put_tensor(name, array, meta): dimension names, attrs,
  !! coordinates and the tensor's block of a global array, all in the
  !! array's own (Fortran) index order. Set once, reused every step (setting
  !! a name again replaces its value).
  type :: simdask_tensor_meta
    private
    type(holder) :: ref
    character(len=MSG_LEN) :: msg = "" ! no allocatable component: gfortran 12 mishandles them in copies
  contains
    procedure :: initialize => meta_initialize
    procedure :: destroy => meta_destroy
    procedure :: last_error => meta_last_error
    procedure :: set_dims => meta_set_dims
    procedure, private :: attr_string, attr_r64, attr_r32, attr_i64, attr_i32
    !> set_attr(name, value[, status]): a character, real(real64|real32) or integer(int64|int32) attr
    generic :: set_attr => attr_string, attr_r64, attr_r32, attr_i64, attr_i32
    procedure, private :: coord_r64, coord_string
    !> set_coord(name, value[, status]): a coordinate of the key (the step's time), real(real64) or character
    generic :: set_coord => coord_r64, coord_string
    procedure :: set_coord_array => meta_set_coord_array
    procedure, private :: block_i32, block_i64
    !> set_block(global_shape, start[, status]): 1-based start, integer or integer(int64) arrays
    generic :: set_block => block_i32, block_i64
    procedure, private :: meta_assign
    generic :: assignment(=) => meta_assign
    final :: meta_final
  end type simdask_tensor_meta

  include "simdask_c_api.inc"

contains

  ! ---- strings ---------------------------------------------------------------

  !> Fortran string -> NUL-terminated C string (trailing blanks dropped).
  pure function c_str(s) result(out)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=:), allocatable :: out
    out = trim(s) // c_null_char
  end function c_str

  !> The same as an array of characters, for a C pointer into it (c_loc).
  pure function c_chars(s) result(out)
    character(len=*), intent(in) :: s
    character(kind=c_char), allocatable :: out(:)
    integer :: i
    allocate(out(len_trim(s) + 1))
    do i = 1, len_trim(s)
      out(i) = s(i:i)
    end do
    out(size(out)) = c_null_char
  end function c_chars

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

  !> The NUL-terminated C string at p ("" for a null pointer).
  function c_string(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer :: i, n
    n = 0
    if (c_associated(p)) n = int(c_strlen(p))
    allocate(character(len=n) :: s)
    if (n == 0) return
    call c_f_pointer(p, chars, [n])
    do i = 1, n
      s(i:i) = chars(i)
    end do
  end function c_string

  !> The `n` C strings of the array at p, as an array of Fortran strings as long as the longest.
  subroutine c_strings(p, n, out)
    type(c_ptr), intent(in) :: p
    integer(c_size_t), intent(in) :: n
    character(len=:), allocatable, intent(out) :: out(:)
    type(c_ptr), pointer :: ptrs(:)
    integer :: i, width
    width = 0
    if (n > 0) then
      call c_f_pointer(p, ptrs, [n])
      do i = 1, int(n)
        width = max(width, int(c_strlen(ptrs(i))))
      end do
    end if
    allocate(character(len=width) :: out(n))
    do i = 1, int(n)
      out(i) = c_string(ptrs(i))
    end do
  end subroutine c_strings

  ! ---- failures: the status convention ------------------------------------------

  !> `status` gets rc when present; else a failure ends the program with the message on stderr.
  subroutine outcome(msg, call, rc, status)
    character(len=*), intent(in) :: msg, call
    integer, intent(in) :: rc
    integer, intent(out), optional :: status
    if (present(status)) then
      status = rc
    else if (rc /= SD_OK) then
      write (error_unit, '(a)') "simdask: " // call // " failed (" // c_string(sd_status_name(int(rc, c_int))) // &
                                "): " // msg
      error stop rc
    end if
  end subroutine outcome

  !> A failure found on the Fortran side: `text` becomes the variable's message.
  subroutine fail(msg, call, rc, text, status)
    character(len=*), intent(inout) :: msg
    character(len=*), intent(in) :: call, text
    integer, intent(in) :: rc
    integer, intent(out), optional :: status
    msg = text
    call outcome(trim(msg), call, rc, status)
  end subroutine fail

  ! ---- handles --------------------------------------------------------------------

  !> Whether `r` holds a handle that was not recycled meanwhile.
  logical function holds(r)
    type(holder), intent(in) :: r
    holds = associated(r%h)
    if (holds) holds = r%h%gen == r%gen
  end function holds

  !> The C object `r` holds (c_null_ptr: none, or destroyed).
  type(c_ptr) function object(r)
    type(holder), intent(in) :: r
    object = c_null_ptr
    if (holds(r)) object = r%h%ptr
  end function object

  !> Why `r` holds no object, for the message of a misuse.
  function misuse(r, what, how) result(text)
    type(holder), intent(in) :: r
    character(len=*), intent(in) :: what, how
    character(len=:), allocatable :: text
    if (associated(r%h)) then
      text = "the " // what // " was destroyed: initialize it again to use it"
    else
      text = "the " // what // " is not initialized: call " // how // " first (a failed one leaves it so)"
    end if
  end function misuse

  !> Frees the C object of `h` (once: its pointer is nulled).
  subroutine close_object(h)
    type(handle), intent(inout) :: h
    if (c_associated(h%ptr)) then
      if (h%is_meta) then
        call sd_tensor_meta_free(h%ptr)
      else if (h%is_dataset) then
        call sd_dataset_free(h%ptr)
      else
        call sd_client_free(h%ptr)
      end if
    end if
    h%ptr = c_null_ptr
  end subroutine close_object

  !> `r` lets go of its handle; the last holder frees the object and recycles the handle.
  subroutine release(r)
    type(holder), intent(inout) :: r
    type(handle), pointer :: h
    if (holds(r)) then
      h => r%h
      h%refs = h%refs - 1
      if (h%refs <= 0) then
        call close_object(h)
        h%gen = h%gen + 1
        h%next => free_handles
        free_handles => h
      end if
    end if
    r%h => null()
    r%gen = -1
  end subroutine release

  !> `r` lets go of what it held and holds a new handle of `ptr` (a client, a dataset, or with is_meta a description).
  subroutine attach(r, ptr, is_dataset, is_meta)
    type(holder), intent(inout) :: r
    type(c_ptr), intent(in) :: ptr
    logical, intent(in) :: is_dataset
    logical, intent(in), optional :: is_meta
    type(handle), pointer :: h
    call release(r)
    if (associated(free_handles)) then
      h => free_handles
      free_handles => h%next
    else
      allocate(h)
    end if
    h%next => null()
    h%ptr = ptr
    h%refs = 1
    h%is_dataset = is_dataset
    h%is_meta = .false.
    if (present(is_meta)) h%is_meta = is_meta
    r%h => h
    r%gen = h%gen
  end subroutine attach

  !> lhs = rhs: lhs holds rhs's handle too.
  subroutine share(lhs, rhs)
    type(holder), intent(inout) :: lhs
    type(holder), intent(in) :: rhs
    if (associated(lhs%h, rhs%h) .and. lhs%gen == rhs%gen) return
    call release(lhs)
    if (.not. holds(rhs)) return
    lhs%h => rhs%h
    lhs%gen = rhs%gen
    lhs%h%refs = lhs%h%refs + 1
  end subroutine share

  ! ---- client: lifetime and state -----------------------------------------------------

  !> Opening of every client call: p is the C client, or c_null_ptr after the misuse was reported.
  subroutine client_enter(self, call, p, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: call
    type(c_ptr), intent(out) :: p
    integer, intent(out), optional :: status
    p = object(self%ref)
    if (.not. c_associated(p)) &
      call fail(self%msg, call, SD_ERR_ARG, misuse(self%ref, "simdask_client", "initialize"), status)
  end subroutine client_enter

  !> End of every client call: keeps the C client's message of a failure, applies the status convention.
  subroutine client_done(self, call, rc, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: call
    integer(c_int), intent(in) :: rc
    integer, intent(out), optional :: status
    self%msg = ""
    if (rc /= SD_OK) self%msg = c_string(sd_last_error(object(self%ref)))
    call outcome(trim(self%msg), call, int(rc), status)
  end subroutine client_done

  !> Connects to the store at `address` (host:port, unix:///path or a
  !! comma-separated cluster list), or at SIMDASK_ADDRESS when absent.
  !! Timeouts in milliseconds; each one absent is read from its variable
  !! (SIMDASK_CONNECT_TIMEOUT, SIMDASK_IO_TIMEOUT, SIMDASK_RUN_TIMEOUT,
  !! SIMDASK_RUN_LEASE, in seconds), else takes the default (10 s, 300 s,
  !! 60 s, 60 s). io_timeout_ms = 0: no limit on a reply; run_timeout_ms: what
  !! run_model waits by default; run_lease_ms: how long a writer's heartbeat
  !! in a run lasts (docs/protocol.md, "Runs").
  !! A client initialized before is let go of first (its copies keep it).
  subroutine client_initialize(self, address, connect_timeout_ms, io_timeout_ms, run_timeout_ms, run_lease_ms, &
                               status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in), optional :: address
    integer, intent(in), optional :: connect_timeout_ms, io_timeout_ms, run_timeout_ms, run_lease_ms
    integer, intent(out), optional :: status
    character(kind=c_char), allocatable, target :: buf(:)
    type(c_options) :: opt
    type(c_ptr) :: p
    integer(c_int) :: rc
    call release(self%ref)
    call sd_options_init(opt)
    if (present(address)) then
      buf = c_chars(address)
      opt%address = c_loc(buf)
    end if
    if (present(connect_timeout_ms)) opt%connect_timeout_ms = int(connect_timeout_ms, c_int)
    if (present(io_timeout_ms)) opt%io_timeout_ms = int(io_timeout_ms, c_int)
    if (present(run_timeout_ms)) opt%run_timeout_ms = int(run_timeout_ms, c_int)
    if (present(run_lease_ms)) opt%run_lease_ms = int(run_lease_ms, c_int)
    rc = sd_client_new_with_options(p, opt)
    self%msg = ""
    if (rc == SD_OK) then
      call attach(self%ref, p, .false.)
    else if (c_associated(p)) then ! a client that only holds the message
      self%msg = c_string(sd_last_error(p))
      call sd_client_free(p)
    else
      self%msg = "out of memory creating the client"
    end if
    call outcome(trim(self%msg), "initialize", int(rc), status)
  end subroutine client_initialize

  !> Closes the connections and frees the client now, for every copy of it;
  !! calls after it fail until initialize. Destroying twice does nothing.
  subroutine client_destroy(self, status)
    class(simdask_client), intent(inout) :: self
    integer, intent(out), optional :: status
    if (holds(self%ref)) call close_object(self%ref%h)
    self%msg = ""
    if (present(status)) status = SD_OK
  end subroutine client_destroy

  !> What the last call of this variable failed on ("" after a success).
  function client_last_error(self) result(msg)
    class(simdask_client), intent(in) :: self
    character(len=:), allocatable :: msg
    msg = trim(self%msg)
  end function client_last_error

  !> b = a: both hold one client, freed once after both are gone.
  subroutine client_assign(lhs, rhs)
    class(simdask_client), intent(inout) :: lhs
    type(simdask_client), intent(in) :: rhs
    call share(lhs%ref, rhs%ref)
    lhs%msg = rhs%msg
  end subroutine client_assign

  !> The variable goes away: the last one holding the client frees it.
  impure elemental subroutine client_final(self)
    type(simdask_client), intent(inout) :: self
    call release(self%ref)
  end subroutine client_final

  !> Reads from now on use `prefix`: one of SIMDASK_KEY_PREFIXES_IN, the client's own, or "" for none.
  subroutine client_set_data_source(self, prefix, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: prefix
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    call client_enter(self, "set_data_source", p, status)
    if (.not. c_associated(p)) return
    call client_done(self, "set_data_source", sd_set_data_source(p, c_str(prefix)), status)
  end subroutine client_set_data_source

  ! ---- client: runs (docs/protocol.md, "Runs") ------------------------------------------

  !> Begins a run of the client's writer group now: its keys go under "P@n".
  !! run_id absent: the environment's (SIMDASK_RUN_ID, the MPI or Slurm
  !! launcher's), else a random one (only a run of one writer may take one:
  !! the ranks of a run of several pass the same id, e.g. one that rank 0
  !! broadcast). writer, writers absent: SIMDASK_RUN_WRITER and
  !! SIMDASK_RUN_WRITERS, else the launcher's rank and task count, else 0 and
  !! 1; 0 <= writer < writers. SD_ERR_ARG while the client is in a run it has
  !! not ended.
  subroutine client_begin_run(self, run_id, writer, writers, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in), optional :: run_id
    integer, intent(in), optional :: writer, writers
    integer, intent(out), optional :: status
    character(kind=c_char), allocatable, target :: buf(:)
    type(c_ptr) :: p, id
    integer(c_int) :: w, n
    call client_enter(self, "begin_run", p, status)
    if (.not. c_associated(p)) return
    id = c_null_ptr
    if (present(run_id)) then
      buf = c_chars(run_id)
      id = c_loc(buf)
    end if
    w = -1
    n = -1
    if (present(writer)) w = int(writer, c_int)
    if (present(writers)) n = int(writers, c_int)
    call client_done(self, "begin_run", sd_begin_run(p, id, w, n), status)
  end subroutine client_begin_run

  !> Ends this writer's part of its run (the run has ended once all its
  !! writers have); writes after it fail until begin_run. A run named by the
  !! environment and not begun yet is begun first, so that a writer that
  !! wrote nothing counts as ended. Without a run: nothing to do. destroy (or
  !! the last variable going away) ends it too.
  subroutine client_end_run(self, status)
    class(simdask_client), intent(inout) :: self
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    call client_enter(self, "end_run", p, status)
    if (.not. c_associated(p)) return
    call client_done(self, "end_run", sd_end_run(p), status)
  end subroutine client_end_run

  !> `run`: the number of the run the client writes in (or last wrote in,
  !! after end_run); 0 while it has begun none (a run named by the
  !! environment begins at the first write).
  subroutine client_run_number(self, run, status)
    class(simdask_client), intent(inout) :: self
    integer, intent(out) :: run
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    integer(c_long_long) :: n
    n = 0
    call client_enter(self, "run_number", p, status)
    if (c_associated(p)) call client_done(self, "run_number", sd_run_number(p, n), status)
    run = int(n)
  end subroutine client_run_number

  ! ---- client: tensors (the typed put/unpack are in simdask_arrays.inc) ---------------------

  !> Writes the array at `data` (F order), described by `meta` when present (status stays the last positional).
  subroutine put_raw(self, name, data, dtype, shp, status, meta)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    type(c_ptr), intent(in) :: data
    integer(c_int), intent(in) :: dtype
    integer(c_size_t), intent(in) :: shp(:)
    integer, intent(out), optional :: status
    type(simdask_tensor_meta), intent(in), optional :: meta
    integer(c_size_t) :: dims(max(1, size(shp)))
    type(c_ptr) :: p, d, m
    call client_enter(self, "put_tensor", p, status)
    if (.not. c_associated(p)) return
    m = c_null_ptr
    if (present(meta)) then
      m = object(meta%ref)
      if (.not. c_associated(m)) then
        call fail(self%msg, "put_tensor", SD_ERR_ARG, misuse(meta%ref, "simdask_tensor_meta", "initialize") // &
                  " (tensor '" // trim(name) // "')", status)
        return
      end if
    end if
    dims(1:size(shp)) = shp
    d = data
    if (product(shp) == 0) d = c_null_ptr
    call client_done(self, "put_tensor", &
                     sd_put_tensor_meta(p, c_str(name), d, dtype, int(size(shp), c_size_t), dims, ORDER_F, m), status)
  end subroutine put_raw

  subroutine unpack_raw(self, name, data, bytes, dtype, shp, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    type(c_ptr), intent(in) :: data
    integer(c_size_t), intent(in) :: bytes
    integer(c_int), intent(in) :: dtype
    integer(c_size_t), intent(in) :: shp(:)
    integer, intent(out), optional :: status
    integer(c_size_t) :: dims(max(1, size(shp)))
    type(c_ptr) :: p, d
    call client_enter(self, "unpack_tensor", p, status)
    if (.not. c_associated(p)) return
    dims(1:size(shp)) = shp
    d = data
    if (bytes == 0) d = c_null_ptr
    call client_done(self, "unpack_tensor", &
                     sd_unpack_tensor(p, c_str(name), d, bytes, dtype, int(size(shp), c_size_t), dims, ORDER_F), &
                     status)
  end subroutine unpack_raw

  !> Whether the tensor `name` exists (with the read prefix).
  subroutine client_tensor_exists(self, name, exists, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    logical, intent(out) :: exists
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    integer(c_int) :: flag
    flag = 0
    call client_enter(self, "tensor_exists", p, status)
    if (c_associated(p)) call client_done(self, "tensor_exists", sd_tensor_exists(p, c_str(name), flag), status)
    exists = flag /= 0
  end subroutine client_tensor_exists

  !> Whether the raw store key `key` exists (no prefix applied).
  subroutine client_key_exists(self, key, exists, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: key
    logical, intent(out) :: exists
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    integer(c_int) :: flag
    flag = 0
    call client_enter(self, "key_exists", p, status)
    if (c_associated(p)) call client_done(self, "key_exists", sd_key_exists(p, c_str(key), flag), status)
    exists = flag /= 0
  end subroutine client_key_exists

  !> Checks for tensor `name` up to `tries` times, `interval_ms` apart; `exists`: whether it appeared.
  subroutine client_poll_tensor(self, name, interval_ms, tries, exists, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer, intent(in) :: interval_ms, tries
    logical, intent(out) :: exists
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    integer(c_int) :: flag
    flag = 0
    call client_enter(self, "poll_tensor", p, status)
    if (c_associated(p)) call client_done(self, "poll_tensor", &
      sd_poll_tensor(p, c_str(name), int(interval_ms, c_int), int(tries, c_int), flag), status)
    exists = flag /= 0
  end subroutine client_poll_tensor

  !> Deletes a tensor and its chunks (a missing tensor is no error).
  subroutine client_delete_tensor(self, name, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    call client_enter(self, "delete_tensor", p, status)
    if (c_associated(p)) call client_done(self, "delete_tensor", sd_delete_tensor(p, c_str(name)), status)
  end subroutine client_delete_tensor

  !> Copies tensor `source` (read prefix) to `dest` (write prefix), attrs included.
  subroutine client_copy_tensor(self, source, dest, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: source, dest
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    call client_enter(self, "copy_tensor", p, status)
    if (c_associated(p)) call client_done(self, "copy_tensor", sd_copy_tensor(p, c_str(source), c_str(dest)), status)
  end subroutine client_copy_tensor

  !> Moves a tensor to a new name (a copy, then a delete of the old name).
  subroutine client_rename_tensor(self, old_name, new_name, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: old_name, new_name
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    call client_enter(self, "rename_tensor", p, status)
    if (c_associated(p)) call client_done(self, "rename_tensor", &
      sd_rename_tensor(p, c_str(old_name), c_str(new_name)), status)
  end subroutine client_rename_tensor

  ! ---- client: datasets and lists ------------------------------------------------------------

  !> The C object of a dataset given to a client call, or c_null_ptr after reporting it (on the client).
  subroutine dataset_arg(self, call, ds, d, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: call
    type(simdask_dataset), intent(in) :: ds
    type(c_ptr), intent(out) :: d
    integer, intent(out), optional :: status
    d = object(ds%ref)
    if (.not. c_associated(d)) &
      call fail(self%msg, call, SD_ERR_ARG, misuse(ds%ref, "simdask_dataset", "initialize(name)"), status)
  end subroutine dataset_arg

  !> Writes the dataset in one transaction (its tensors and metadata appear together).
  subroutine client_put_dataset(self, dataset, status)
    class(simdask_client), intent(inout) :: self
    type(simdask_dataset), intent(in) :: dataset
    integer, intent(out), optional :: status
    type(c_ptr) :: p, d
    call client_enter(self, "put_dataset", p, status)
    if (.not. c_associated(p)) return
    call dataset_arg(self, "put_dataset", dataset, d, status)
    if (c_associated(d)) call client_done(self, "put_dataset", sd_put_dataset(p, d), status)
  end subroutine client_put_dataset

  !> Reads the complete dataset `name` into `dataset` (which lets go of what it held).
  subroutine client_get_dataset(self, name, dataset, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    type(simdask_dataset), intent(inout) :: dataset
    integer, intent(out), optional :: status
    type(c_ptr) :: p, d
    integer(c_int) :: rc
    call client_enter(self, "get_dataset", p, status)
    if (.not. c_associated(p)) return
    rc = sd_get_dataset(p, c_str(name), d)
    if (rc == SD_OK) then
      call attach(dataset%ref, d, .true.)
      dataset%msg = ""
    end if
    call client_done(self, "get_dataset", rc, status)
  end subroutine client_get_dataset

  !> Deletes a dataset's tensors and metadata; a missing dataset is SD_ERR_NOT_FOUND.
  subroutine client_delete_dataset(self, name, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    call client_enter(self, "delete_dataset", p, status)
    if (c_associated(p)) call client_done(self, "delete_dataset", sd_delete_dataset(p, c_str(name)), status)
  end subroutine client_delete_dataset

  !> Whether the dataset `name` exists (complete).
  subroutine client_dataset_exists(self, name, exists, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    logical, intent(out) :: exists
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    integer(c_int) :: flag
    flag = 0
    call client_enter(self, "dataset_exists", p, status)
    if (c_associated(p)) call client_done(self, "dataset_exists", sd_dataset_exists(p, c_str(name), flag), status)
    exists = flag /= 0
  end subroutine client_dataset_exists

  !> Checks for dataset `name` up to `tries` times, `interval_ms` apart.
  subroutine client_poll_dataset(self, name, interval_ms, tries, exists, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer, intent(in) :: interval_ms, tries
    logical, intent(out) :: exists
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    integer(c_int) :: flag
    flag = 0
    call client_enter(self, "poll_dataset", p, status)
    if (c_associated(p)) call client_done(self, "poll_dataset", &
      sd_poll_dataset(p, c_str(name), int(interval_ms, c_int), int(tries, c_int), flag), status)
    exists = flag /= 0
  end subroutine client_poll_dataset

  !> Appends a reference to `dataset` (put before with put_dataset) to the aggregation list `list`.
  subroutine client_append_to_list(self, list, dataset, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: list
    type(simdask_dataset), intent(in) :: dataset
    integer, intent(out), optional :: status
    type(c_ptr) :: p, d
    call client_enter(self, "append_to_list", p, status)
    if (.not. c_associated(p)) return
    call dataset_arg(self, "append_to_list", dataset, d, status)
    if (c_associated(d)) call client_done(self, "append_to_list", sd_append_to_list(p, c_str(list), d), status)
  end subroutine client_append_to_list

  !> The number of datasets in the list (0 for a missing list).
  subroutine client_get_list_length(self, list, length, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: list
    integer, intent(out) :: length
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    integer(c_size_t) :: n
    n = 0
    call client_enter(self, "get_list_length", p, status)
    if (c_associated(p)) call client_done(self, "get_list_length", sd_get_list_length(p, c_str(list), n), status)
    length = int(n)
  end subroutine client_get_list_length

  ! The three polls of a list's length: `poll` is sd_poll_list_length, _gte or _lte.
  subroutine poll_list(self, call, poll, list, length, interval_ms, tries, reached, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: call, list
    procedure(sd_poll_list_length) :: poll
    integer, intent(in) :: length, interval_ms, tries
    logical, intent(out) :: reached
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    integer(c_int) :: flag
    flag = 0
    reached = .false.
    call client_enter(self, call, p, status)
    if (.not. c_associated(p)) return
    if (length < 0) then
      call fail(self%msg, call, SD_ERR_ARG, "list length must be >= 0", status)
      return
    end if
    call client_done(self, call, poll(p, c_str(list), int(length, c_size_t), int(interval_ms, c_int), &
                                      int(tries, c_int), flag), status)
    reached = flag /= 0
  end subroutine poll_list

  !> Checks up to `tries` times, `interval_ms` apart, whether the list has exactly `length` datasets.
  subroutine client_poll_list_length(self, list, length, interval_ms, tries, reached, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: list
    integer, intent(in) :: length, interval_ms, tries
    logical, intent(out) :: reached
    integer, intent(out), optional :: status
    call poll_list(self, "poll_list_length", sd_poll_list_length, list, length, interval_ms, tries, reached, status)
  end subroutine client_poll_list_length

  !> As poll_list_length, for at least `length` datasets.
  subroutine client_poll_list_length_gte(self, list, length, interval_ms, tries, reached, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: list
    integer, intent(in) :: length, interval_ms, tries
    logical, intent(out) :: reached
    integer, intent(out), optional :: status
    call poll_list(self, "poll_list_length_gte", sd_poll_list_length_gte, list, length, interval_ms, tries, &
                   reached, status)
  end subroutine client_poll_list_length_gte

  !> As poll_list_length, for at most `length` datasets.
  subroutine client_poll_list_length_lte(self, list, length, interval_ms, tries, reached, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: list
    integer, intent(in) :: length, interval_ms, tries
    logical, intent(out) :: reached
    integer, intent(out), optional :: status
    call poll_list(self, "poll_list_length_lte", sd_poll_list_length_lte, list, length, interval_ms, tries, &
                   reached, status)
  end subroutine client_poll_list_length_lte

  !> The list's datasets in order (size 0 after a failure).
  subroutine client_get_datasets_from_list(self, list, datasets, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: list
    type(simdask_dataset), allocatable, intent(out) :: datasets(:)
    integer, intent(out), optional :: status
    type(c_ptr) :: p, array
    type(c_ptr), pointer :: each(:)
    integer(c_size_t) :: n
    integer(c_int) :: rc
    integer :: i
    n = 0
    call client_enter(self, "get_datasets_from_list", p, status)
    if (.not. c_associated(p)) then
      allocate(datasets(0))
      return
    end if
    rc = sd_get_datasets_from_list(p, c_str(list), array, n)
    if (rc /= SD_OK) n = 0
    allocate(datasets(n))
    if (n > 0) then
      call c_f_pointer(array, each, [n])
      do i = 1, int(n)
        call attach(datasets(i)%ref, each(i), .true.)
        datasets(i)%msg = ""
      end do
    end if
    if (rc == SD_OK) call sd_free(array) ! the array only: each dataset is held by its variable now
    call client_done(self, "get_datasets_from_list", rc, status)
  end subroutine client_get_datasets_from_list

  !> Deletes the list (not the datasets it names).
  subroutine client_delete_list(self, list, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: list
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    call client_enter(self, "delete_list", p, status)
    if (c_associated(p)) call client_done(self, "delete_list", sd_delete_list(p, c_str(list)), status)
  end subroutine client_delete_list

  ! ---- client: models, scripts, run requests ---------------------------------------------------

  subroutine settings(s, device, batch_size, min_batch_size, min_batch_timeout, tag, inputs, outputs)
    type(model_settings), intent(inout), target :: s
    character(len=*), intent(in), optional :: device, tag
    integer, intent(in), optional :: batch_size, min_batch_size, min_batch_timeout
    character(len=*), intent(in), optional :: inputs(:), outputs(:)
    call sd_model_options_init(s%opt)
    if (present(device)) then
      s%device = c_chars(device)
      s%opt%device = c_loc(s%device)
    end if
    if (present(tag)) then
      s%tag = c_chars(tag)
      s%opt%tag = c_loc(s%tag)
    end if
    if (present(batch_size)) s%opt%batch_size = int(batch_size, c_int)
    if (present(min_batch_size)) s%opt%min_batch_size = int(min_batch_size, c_int)
    if (present(min_batch_timeout)) s%opt%min_batch_timeout_ms = int(min_batch_timeout, c_int)
    if (present(inputs)) then
      call c_str_array(inputs, s%in_flat, s%in_ptrs)
      s%opt%n_inputs = size(inputs, kind=c_size_t)
      s%opt%inputs = c_loc(s%in_ptrs)
    end if
    if (present(outputs)) then
      call c_str_array(outputs, s%out_flat, s%out_ptrs)
      s%opt%n_outputs = size(outputs, kind=c_size_t)
      s%opt%outputs = c_loc(s%out_ptrs)
    end if
  end subroutine settings

  !> Stores a model from its bytes (`model`: e.g. a file read with access="stream") for `backend`
  !! "TORCH" (TorchScript) or "ONNX". device: "CPU" (default), "GPU" or "GPU:n"; batch_size,
  !! min_batch_size, min_batch_timeout (ms): dynamic batching (0: none); tag, inputs, outputs:
  !! informative. `version` gets the stored version.
  subroutine client_set_model(self, name, model, backend, device, batch_size, min_batch_size, min_batch_timeout, &
                              tag, inputs, outputs, version, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name, model, backend
    character(len=*), intent(in), optional :: device, tag
    integer, intent(in), optional :: batch_size, min_batch_size, min_batch_timeout
    character(len=*), intent(in), optional :: inputs(:), outputs(:)
    integer(int64), intent(out), optional :: version
    integer, intent(out), optional :: status
    type(model_settings), target :: s
    type(c_ptr) :: p
    integer(c_long_long) :: v
    v = 0
    call client_enter(self, "set_model", p, status)
    if (c_associated(p)) then
      call settings(s, device, batch_size, min_batch_size, min_batch_timeout, tag, inputs, outputs)
      call client_done(self, "set_model", sd_set_model(p, c_str(name), model, len(model, kind=c_size_t), &
                                                       c_str(backend), s%opt, v), status)
    end if
    if (present(version)) version = int(v, int64)
  end subroutine client_set_model

  !> set_model with the bytes of the file at `path` (read by the C client).
  subroutine client_set_model_from_file(self, name, path, backend, device, batch_size, min_batch_size, &
                                        min_batch_timeout, tag, inputs, outputs, version, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name, path, backend
    character(len=*), intent(in), optional :: device, tag
    integer, intent(in), optional :: batch_size, min_batch_size, min_batch_timeout
    character(len=*), intent(in), optional :: inputs(:), outputs(:)
    integer(int64), intent(out), optional :: version
    integer, intent(out), optional :: status
    type(model_settings), target :: s
    type(c_ptr) :: p
    integer(c_long_long) :: v
    v = 0
    call client_enter(self, "set_model_from_file", p, status)
    if (c_associated(p)) then
      call settings(s, device, batch_size, min_batch_size, min_batch_timeout, tag, inputs, outputs)
      call client_done(self, "set_model_from_file", &
                       sd_set_model_from_file(p, c_str(name), c_str(path), c_str(backend), s%opt, v), status)
    end if
    if (present(version)) version = int(v, int64)
  end subroutine client_set_model_from_file

  !> Stores TorchScript source (lines joined with new_line("a")) for run_script; device as set_model's.
  subroutine client_set_script(self, name, script, device, version, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name, script
    character(len=*), intent(in), optional :: device
    integer(int64), intent(out), optional :: version
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    integer(c_long_long) :: v
    v = 0
    call client_enter(self, "set_script", p, status)
    if (c_associated(p)) then
      if (present(device)) then
        call client_done(self, "set_script", sd_set_script(p, c_str(name), c_str(script), c_str(device), v), status)
      else
        call client_done(self, "set_script", sd_set_script(p, c_str(name), c_str(script), c_str("CPU"), v), status)
      end if
    end if
    if (present(version)) version = int(v, int64)
  end subroutine client_set_script

  !> set_script with the source in the file at `path`.
  subroutine client_set_script_from_file(self, name, path, device, version, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name, path
    character(len=*), intent(in), optional :: device
    integer(int64), intent(out), optional :: version
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    integer(c_long_long) :: v
    v = 0
    call client_enter(self, "set_script_from_file", p, status)
    if (c_associated(p)) then
      if (present(device)) then
        call client_done(self, "set_script_from_file", &
                         sd_set_script_from_file(p, c_str(name), c_str(path), c_str(device), v), status)
      else
        call client_done(self, "set_script_from_file", &
                         sd_set_script_from_file(p, c_str(name), c_str(path), c_str("CPU"), v), status)
      end if
    end if
    if (present(version)) version = int(v, int64)
  end subroutine client_set_script_from_file

  !> Whether a model or a script named `name` exists.
  subroutine client_model_exists(self, name, exists, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    logical, intent(out) :: exists
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    integer(c_int) :: flag
    flag = 0
    call client_enter(self, "model_exists", p, status)
    if (c_associated(p)) call client_done(self, "model_exists", sd_model_exists(p, c_str(name), flag), status)
    exists = flag /= 0
  end subroutine client_model_exists

  !> Deletes model `name`; a missing model is SD_ERR_NOT_FOUND.
  subroutine client_delete_model(self, name, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    call client_enter(self, "delete_model", p, status)
    if (c_associated(p)) call client_done(self, "delete_model", sd_delete_model(p, c_str(name)), status)
  end subroutine client_delete_model

  !> Deletes script `name`; a missing script is SD_ERR_NOT_FOUND.
  subroutine client_delete_script(self, name, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer, intent(out), optional :: status
    type(c_ptr) :: p
    call client_enter(self, "delete_script", p, status)
    if (c_associated(p)) call client_done(self, "delete_script", sd_delete_script(p, c_str(name)), status)
  end subroutine client_delete_script

  !> Runs model `name` on the stored tensors `inputs`, writing `outputs`;
  !! waits up to timeout_ms (absent or 0: the client's run timeout, 60 s by
  !! default; < 0: no limit): SD_ERR_MODEL with the service's message, or SD_ERR_TIMEOUT.
  subroutine client_run_model(self, name, inputs, outputs, timeout_ms, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name
    character(len=*), intent(in) :: inputs(:), outputs(:)
    integer, intent(in), optional :: timeout_ms
    integer, intent(out), optional :: status
    character(kind=c_char), allocatable, target :: in_flat(:), out_flat(:)
    type(c_ptr), allocatable :: in_ptrs(:), out_ptrs(:)
    type(c_ptr) :: p
    integer(c_int) :: timeout
    call client_enter(self, "run_model", p, status)
    if (.not. c_associated(p)) return
    timeout = 0
    if (present(timeout_ms)) timeout = int(timeout_ms, c_int)
    call c_str_array(inputs, in_flat, in_ptrs)
    call c_str_array(outputs, out_flat, out_ptrs)
    call client_done(self, "run_model", sd_run_model(p, c_str(name), size(inputs, kind=c_size_t), in_ptrs, &
                                                     size(outputs, kind=c_size_t), out_ptrs, timeout), status)
  end subroutine client_run_model

  !> Runs `function` of script `name`, as run_model.
  subroutine client_run_script(self, name, function, inputs, outputs, timeout_ms, status)
    class(simdask_client), intent(inout) :: self
    character(len=*), intent(in) :: name, function
    character(len=*), intent(in) :: inputs(:), outputs(:)
    integer, intent(in), optional :: timeout_ms
    integer, intent(out), optional :: status
    character(kind=c_char), allocatable, target :: in_flat(:), out_flat(:)
    type(c_ptr), allocatable :: in_ptrs(:), out_ptrs(:)
    type(c_ptr) :: p
    integer(c_int) :: timeout
    call client_enter(self, "run_script", p, status)
    if (.not. c_associated(p)) return
    timeout = 0
    if (present(timeout_ms)) timeout = int(timeout_ms, c_int)
    call c_str_array(inputs, in_flat, in_ptrs)
    call c_str_array(outputs, out_flat, out_ptrs)
    call client_done(self, "run_script", sd_run_script(p, c_str(name), c_str(function), size(inputs, kind=c_size_t), &
                                                       in_ptrs, size(outputs, kind=c_size_t), out_ptrs, timeout), &
                     status)
  end subroutine client_run_script

  ! ---- datasets ----------------------------------------------------------------------------------

  !> Opening of every dataset call: d is the C dataset, or c_null_ptr after the misuse was reported.
  subroutine dataset_enter(self, call, d, status)
    class(simdask_dataset), intent(inout) :: self
    character(len=*), intent(in) :: call
    type(c_ptr), intent(out) :: d
    integer, intent(out), optional :: status
    d = object(self%ref)
    if (.not. c_associated(d)) &
      call fail(self%msg, call, SD_ERR_ARG, misuse(self%ref, "simdask_dataset", "initialize(name)"), status)
  end subroutine dataset_enter

  !> End of every dataset call, as client_done.
  subroutine dataset_done(self, call, rc, status)
    class(simdask_dataset), intent(inout) :: self
    character(len=*), intent(in) :: call
    integer(c_int), intent(in) :: rc
    integer, intent(out), optional :: status
    self%msg = ""
    if (rc /= SD_OK) self%msg = c_string(sd_dataset_last_error(object(self%ref)))
    call outcome(trim(self%msg), call, int(rc), status)
  end subroutine dataset_done

  !> A new, empty dataset named `name` (not empty, no braces); what it held before is let go of.
  subroutine dataset_initialize(self, name, status)
    class(simdask_dataset), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer, intent(out), optional :: status
    type(c_ptr) :: d
    integer(c_int) :: rc
    call release(self%ref)
    rc = sd_dataset_new(d, c_str(name))
    self%msg = ""
    if (rc == SD_OK) then
      call attach(self%ref, d, .true.)
    else if (rc == SD_ERR_NOMEM) then
      self%msg = "out of memory creating dataset '" // trim(name) // "'"
    else
      self%msg = "dataset name '" // trim(name) // "' is empty, too long or contains '{' or '}'"
    end if
    call outcome(trim(self%msg), "initialize", int(rc), status)
  end subroutine dataset_initialize

  !> Frees the dataset now, for every copy of it; destroying twice does nothing.
  subroutine dataset_destroy(self, status)
    class(simdask_dataset), intent(inout) :: self
    integer, intent(out), optional :: status
    if (holds(self%ref)) call close_object(self%ref%h)
    self%msg = ""
    if (present(status)) status = SD_OK
  end subroutine dataset_destroy

  !> What the last call of this variable failed on ("" after a success).
  function dataset_last_error(self) result(msg)
    class(simdask_dataset), intent(in) :: self
    character(len=:), allocatable :: msg
    msg = trim(self%msg)
  end function dataset_last_error

  !> The dataset's name ("" when it is not initialized).
  function dataset_name(self) result(name)
    class(simdask_dataset), intent(in) :: self
    character(len=:), allocatable :: name
    name = c_string(sd_dataset_name(object(self%ref)))
  end function dataset_name

  subroutine dataset_assign(lhs, rhs)
    class(simdask_dataset), intent(inout) :: lhs
    type(simdask_dataset), intent(in) :: rhs
    call share(lhs%ref, rhs%ref)
    lhs%msg = rhs%msg
  end subroutine dataset_assign

  impure elemental subroutine dataset_final(self)
    type(simdask_dataset), intent(inout) :: self
    call release(self%ref)
  end subroutine dataset_final

  subroutine add_raw(self, name, data, dtype, shp, status)
    class(simdask_dataset), intent(inout) :: self
    character(len=*), intent(in) :: name
    type(c_ptr), intent(in) :: data
    integer(c_int), intent(in) :: dtype
    integer(c_size_t), intent(in) :: shp(:)
    integer, intent(out), optional :: status
    integer(c_size_t) :: dims(max(1, size(shp)))
    type(c_ptr) :: d, a
    call dataset_enter(self, "add_tensor", d, status)
    if (.not. c_associated(d)) return
    dims(1:size(shp)) = shp
    a = data
    if (product(shp) == 0) a = c_null_ptr
    call dataset_done(self, "add_tensor", &
                      sd_dataset_add_tensor(d, c_str(name), a, dtype, int(size(shp), c_size_t), dims, ORDER_F), status)
  end subroutine add_raw

  subroutine ds_unpack_raw(self, name, data, bytes, dtype, shp, status)
    class(simdask_dataset), intent(inout) :: self
    character(len=*), intent(in) :: name
    type(c_ptr), intent(in) :: data
    integer(c_size_t), intent(in) :: bytes
    integer(c_int), intent(in) :: dtype
    integer(c_size_t), intent(in) :: shp(:)
    integer, intent(out), optional :: status
    integer(c_size_t) :: dims(max(1, size(shp)))
    type(c_ptr) :: d, a
    call dataset_enter(self, "unpack_tensor", d, status)
    if (.not. c_associated(d)) return
    dims(1:size(shp)) = shp
    a = data
    if (bytes == 0) a = c_null_ptr
    call dataset_done(self, "unpack_tensor", sd_dataset_unpack_tensor(d, c_str(name), a, bytes, dtype, &
                                                                     int(size(shp), c_size_t), dims, ORDER_F), status)
  end subroutine ds_unpack_raw

  !> The shape of tensor `name` as stored (allocate the array to unpack with it; size 0 after a failure).
  subroutine dataset_tensor_shape(self, name, dims, status)
    class(simdask_dataset), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer, allocatable, intent(out) :: dims(:)
    integer, intent(out), optional :: status
    type(c_ptr) :: d, data, stored
    integer(c_size_t), pointer :: each(:)
    integer(c_size_t) :: ndim
    integer(c_int) :: dtype, order, rc
    ndim = 0
    call dataset_enter(self, "tensor_shape", d, status)
    if (c_associated(d)) then
      rc = sd_dataset_get_tensor(d, c_str(name), data, dtype, ndim, stored, order)
      if (rc /= SD_OK) ndim = 0
      call dataset_done(self, "tensor_shape", rc, status)
    end if
    allocate(dims(ndim))
    if (ndim == 0) return
    call c_f_pointer(stored, each, [ndim])
    dims = int(each)
  end subroutine dataset_tensor_shape

  !> The names of the dataset's tensors, in the order they were added.
  subroutine dataset_tensor_names(self, names, status)
    class(simdask_dataset), intent(inout) :: self
    character(len=:), allocatable, intent(out) :: names(:)
    integer, intent(out), optional :: status
    type(c_ptr) :: d, array
    integer(c_size_t) :: n
    n = 0
    array = c_null_ptr
    call dataset_enter(self, "tensor_names", d, status)
    if (c_associated(d)) call dataset_done(self, "tensor_names", sd_dataset_tensor_names(d, array, n), status)
    call c_strings(array, n, names)
  end subroutine dataset_tensor_names

  !> The names of the dataset's metadata fields (scalar and string), in the order they were added.
  subroutine dataset_meta_names(self, names, status)
    class(simdask_dataset), intent(inout) :: self
    character(len=:), allocatable, intent(out) :: names(:)
    integer, intent(out), optional :: status
    type(c_ptr) :: d, array
    integer(c_size_t) :: n
    n = 0
    array = c_null_ptr
    call dataset_enter(self, "meta_names", d, status)
    if (c_associated(d)) call dataset_done(self, "meta_names", sd_dataset_meta_names(d, array, n), status)
    call c_strings(array, n, names)
  end subroutine dataset_meta_names

  !> Appends `value` (trailing blanks dropped) to the string field `field`.
  subroutine dataset_add_meta_string(self, field, value, status)
    class(simdask_dataset), intent(inout) :: self
    character(len=*), intent(in) :: field, value
    integer, intent(out), optional :: status
    type(c_ptr) :: d
    call dataset_enter(self, "add_meta_string", d, status)
    if (c_associated(d)) call dataset_done(self, "add_meta_string", &
      sd_dataset_add_meta_string(d, c_str(field), c_str(value)), status)
  end subroutine dataset_add_meta_string

  !> The strings of field `field`, as long as the longest (size 0 after a failure).
  subroutine dataset_get_meta_strings(self, field, values, status)
    class(simdask_dataset), intent(inout) :: self
    character(len=*), intent(in) :: field
    character(len=:), allocatable, intent(out) :: values(:)
    integer, intent(out), optional :: status
    type(c_ptr) :: d, array
    integer(c_size_t) :: n
    integer(c_int) :: rc
    n = 0
    array = c_null_ptr
    call dataset_enter(self, "get_meta_strings", d, status)
    if (c_associated(d)) then
      rc = sd_dataset_get_meta_strings(d, c_str(field), array, n)
      if (rc /= SD_OK) n = 0
      call dataset_done(self, "get_meta_strings", rc, status)
    end if
    call c_strings(array, n, values)
  end subroutine dataset_get_meta_strings

  subroutine meta_add_raw(self, field, value, dtype, status)
    class(simdask_dataset), intent(inout) :: self
    character(len=*), intent(in) :: field
    type(c_ptr), intent(in) :: value
    integer(c_int), intent(in) :: dtype
    integer, intent(out), optional :: status
    type(c_ptr) :: d
    call dataset_enter(self, "add_meta_scalar", d, status)
    if (c_associated(d)) call dataset_done(self, "add_meta_scalar", &
      sd_dataset_add_meta_scalar(d, c_str(field), value, dtype), status)
  end subroutine meta_add_raw

  !> The values of scalar field `field` (a C array of `n`), when they are of type `dtype`; n = 0 otherwise.
  subroutine meta_get_raw(self, field, dtype, values, n, status)
    class(simdask_dataset), intent(inout) :: self
    character(len=*), intent(in) :: field
    integer(c_int), intent(in) :: dtype
    type(c_ptr), intent(out) :: values
    integer, intent(out) :: n
    integer, intent(out), optional :: status
    type(c_ptr) :: d
    integer(c_size_t) :: count
    integer(c_int) :: stored, rc
    n = 0
    values = c_null_ptr
    call dataset_enter(self, "get_meta_scalars", d, status)
    if (.not. c_associated(d)) return
    rc = sd_dataset_get_meta_scalars(d, c_str(field), values, count, stored)
    if (rc == SD_OK .and. stored /= dtype) then
      call fail(self%msg, "get_meta_scalars", SD_ERR_TYPE, "metadata field '" // trim(field) // "' of dataset '" // &
                self%name() // "' holds " // type_name(stored) // ", not " // type_name(dtype), status)
      return
    end if
    if (rc == SD_OK) n = int(count)
    call dataset_done(self, "get_meta_scalars", rc, status)
  end subroutine meta_get_raw

  !> The Fortran type of a dtype code, for messages.
  function type_name(dtype) result(name)
    integer(c_int), intent(in) :: dtype
    character(len=:), allocatable :: name
    select case (dtype)
    case (DT_INT8)
      name = "integer(int8)"
    case (DT_INT16)
      name = "integer(int16)"
    case (DT_INT32)
      name = "integer(int32)"
    case (DT_INT64)
      name = "integer(int64)"
    case (DT_FLOAT32)
      name = "real(real32)"
    case (DT_FLOAT64)
      name = "real(real64)"
    case (DT_COMPLEX64)
      name = "complex(real32)"
    case (DT_COMPLEX128)
      name = "complex(real64)"
    case default
      name = "a type without a Fortran counterpart"
    end select
  end function type_name

  ! ---- tensor descriptions (the typed set_attr, set_coord, set_block are in simdask_arrays.inc) --------------

  !> Opening of every description call: m is the C sd_tensor_meta, or c_null_ptr after the misuse was reported.
  subroutine meta_enter(self, call, m, status)
    class(simdask_tensor_meta), intent(inout) :: self
    character(len=*), intent(in) :: call
    type(c_ptr), intent(out) :: m
    integer, intent(out), optional :: status
    m = object(self%ref)
    if (.not. c_associated(m)) &
      call fail(self%msg, call, SD_ERR_ARG, misuse(self%ref, "simdask_tensor_meta", "initialize"), status)
  end subroutine meta_enter

  !> End of every description call, as client_done.
  subroutine meta_done(self, call, rc, status)
    class(simdask_tensor_meta), intent(inout) :: self
    character(len=*), intent(in) :: call
    integer(c_int), intent(in) :: rc
    integer, intent(out), optional :: status
    self%msg = ""
    if (rc /= SD_OK) self%msg = c_string(sd_tensor_meta_last_error(object(self%ref)))
    call outcome(trim(self%msg), call, int(rc), status)
  end subroutine meta_done

  !> A new, empty description (no dims, attrs, coordinates or block); what it held before is let go of.
  subroutine meta_initialize(self, status)
    class(simdask_tensor_meta), intent(inout) :: self
    integer, intent(out), optional :: status
    type(c_ptr) :: m
    integer(c_int) :: rc
    call release(self%ref)
    rc = sd_tensor_meta_new(m)
    self%msg = ""
    if (rc == SD_OK) then
      call attach(self%ref, m, .false., is_meta=.true.)
    else
      self%msg = "out of memory creating a tensor description"
    end if
    call outcome(trim(self%msg), "initialize", int(rc), status)
  end subroutine meta_initialize

  !> Frees the description now, for every copy of it; destroying twice does nothing.
  subroutine meta_destroy(self, status)
    class(simdask_tensor_meta), intent(inout) :: self
    integer, intent(out), optional :: status
    if (holds(self%ref)) call close_object(self%ref%h)
    self%msg = ""
    if (present(status)) status = SD_OK
  end subroutine meta_destroy

  !> What the last call of this variable failed on ("" after a success).
  function meta_last_error(self) result(msg)
    class(simdask_tensor_meta), intent(in) :: self
    character(len=:), allocatable :: msg
    msg = trim(self%msg)
  end function meta_last_error

  subroutine meta_assign(lhs, rhs)
    class(simdask_tensor_meta), intent(inout) :: lhs
    type(simdask_tensor_meta), intent(in) :: rhs
    call share(lhs%ref, rhs%ref)
    lhs%msg = rhs%msg
  end subroutine meta_assign

  impure elemental subroutine meta_final(self)
    type(simdask_tensor_meta), intent(inout) :: self
    call release(self%ref)
  end subroutine meta_final

  !> The dimension names, one per dimension of the arrays it describes, in their Fortran index order
  !! (theta(nx, nz): ["x", "z"]); trailing blanks dropped.
  subroutine meta_set_dims(self, names, status)
    class(simdask_tensor_meta), intent(inout) :: self
    character(len=*), intent(in) :: names(:)
    integer, intent(out), optional :: status
    character(kind=c_char), allocatable, target :: flat(:)
    type(c_ptr), allocatable :: ptrs(:)
    type(c_ptr) :: m
    call meta_enter(self, "set_dims", m, status)
    if (.not. c_associated(m)) return
    call c_str_array(names, flat, ptrs)
    call meta_done(self, "set_dims", sd_tensor_meta_set_dims(m, size(names, kind=c_size_t), ptrs), status)
  end subroutine meta_set_dims

  !> The coordinate along dimension `dim` (one of the dims): one value per element of the array along it.
  subroutine meta_set_coord_array(self, dim, values, status)
    class(simdask_tensor_meta), intent(inout) :: self
    character(len=*), intent(in) :: dim
    real(real64), intent(in) :: values(:)
    integer, intent(out), optional :: status
    type(c_ptr) :: m
    call meta_enter(self, "set_coord_array", m, status)
    if (c_associated(m)) call meta_done(self, "set_coord_array", &
      sd_tensor_meta_set_coord_array(m, c_str(dim), values, size(values, kind=c_size_t)), status)
  end subroutine meta_set_coord_array

  !> set_block with 1-based starts: the C client's 0-based start is start - 1.
  subroutine block_raw(self, global_shape, start, status)
    class(simdask_tensor_meta), intent(inout) :: self
    integer(int64), intent(in) :: global_shape(:), start(:)
    integer, intent(out), optional :: status
    integer(c_size_t) :: shp(max(1, size(start))), first(max(1, size(start)))
    type(c_ptr) :: m
    integer :: i
    call meta_enter(self, "set_block", m, status)
    if (.not. c_associated(m)) return
    if (size(global_shape) /= size(start)) then
      call fail(self%msg, "set_block", SD_ERR_ARG, "global_shape has " // decimal(size(global_shape, kind=int64)) &
                // " values but start has " // decimal(size(start, kind=int64)), status)
      return
    end if
    do i = 1, size(start)
      if (start(i) < 1) then
        call fail(self%msg, "set_block", SD_ERR_ARG, "start(" // decimal(int(i, int64)) // ") = " // &
                  decimal(start(i)) // ": starts are 1-based, the global index of the block's first element " // &
                  "(1 for a block at the array's beginning)", status)
        return
      end if
      if (global_shape(i) < 0) then
        call fail(self%msg, "set_block", SD_ERR_ARG, "global_shape(" // decimal(int(i, int64)) // ") = " // &
                  decimal(global_shape(i)) // " is negative", status)
        return
      end if
    end do
    shp(1:size(start)) = int(global_shape, c_size_t)
    first(1:size(start)) = int(start - 1, c_size_t)
    call meta_done(self, "set_block", sd_tensor_meta_set_block(m, size(start, kind=c_size_t), shp, first), status)
  end subroutine block_raw

  !> An integer as text, for messages.
  function decimal(i) result(text)
    integer(int64), intent(in) :: i
    character(len=:), allocatable :: text
    character(len=24) :: buf
    write (buf, '(i0)') i
    text = trim(buf)
  end function decimal

  include "simdask_arrays.inc"

end module simdask
