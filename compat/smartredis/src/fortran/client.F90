!> SmartRedis's Client for Fortran (simdask compatibility layer): tensors,
!! datasets, aggregation lists, models and scripts in a simdask store, with
!! SmartRedis 0.6's type-bound procedures, arguments and return codes.
!!
!!     use smartredis_client, only : client_type
!!     implicit none
!! #include "enum_fortran.inc"
!!     type(client_type) :: client
!!     real(kind=8) :: u(64, 32)
!!     if (client%initialize("ocean") /= SRNoError) error stop 'initialize failed'  ! SSDB, SR_DB_TYPE ...
!!     if (client%put_tensor("u", u, shape(u)) /= SRNoError) error stop 'put_tensor failed'
!!     if (client%unpack_tensor("u", u, shape(u)) /= SRNoError) error stop 'unpack_tensor failed'
!!     if (client%destructor() /= SRNoError) error stop 'destructor failed'
!!
!! Every function returns SRNoError or an SR*Error code (enum_fortran.inc);
!! get_last_error() of smartredis_errors says why (simdask's message, naming
!! the key, the address or the model). Nothing stops the program on bad
!! input: a client used before initialize or after destructor, `dims`
!! describing more elements than the array has, a character variable too
!! short for a model or script all return SRParameterError.
!!
!! Tensors: real(c_float|c_double), integer(c_int8_t|c_int16_t|c_int32_t|
!! c_int64_t) arrays of any rank, sent and received in Fortran order
!! (SmartRedis's c_fortran_contiguous), so C, C++ and Python see the array
!! with the same shape and index order as the Fortran program. `dims` is
!! the tensor's shape, normally shape(array).
!!
!! Settings come from the environment as SmartSim sets it (SSDB,
!! SR_DB_TYPE, SSKEYIN/SSKEYOUT, SR_* timeouts; SIMDASK_* when those are
!! unset) or from a configoptions_type (docs/smartredis.md). Models and
!! scripts go through simdask's inference service: run_model and run_script
!! need its serving loops (a Store started with serve=N, or an
!! InferenceServer) and fail within a second, saying what to start, when
!! none runs.
module smartredis_client

use iso_c_binding, only : c_ptr, c_null_ptr, c_char, c_size_t, c_int, c_bool, c_loc
use iso_c_binding, only : c_int8_t, c_int16_t, c_int32_t, c_int64_t, c_float, c_double
use, intrinsic :: iso_fortran_env, only : error_unit
use fortran_c_interop, only : enum_kind, c_string_array, to_c_strings, c_string_count, c_text, dims_to_c, &
                              fill_string, fortran_error
use smartredis_dataset, only : dataset_type
use smartredis_configoptions, only : configoptions_type
use smartredis_errors, only : get_last_error

implicit none; private

#include "enum_fortran.inc"

public :: enum_kind

!> A connection to the store (a C client object).
type, public :: client_type
  private
  type(c_ptr) :: client_ptr = c_null_ptr !< the C client (null before initialize and after destructor)
  logical :: is_initialized = .false.    !< whether initialize succeeded (and destructor was not called)
contains
  !> Connect: initialize([logger_name]), initialize(cfgopts[, logger_name]) or the deprecated
  !! initialize(cluster[, logger_name])
  generic :: initialize => initialize_client_deprecated, initialize_client_simple, initialize_client_cfgopts
  !> Put an array as a tensor
  generic :: put_tensor => put_tensor_i8, put_tensor_i16, put_tensor_i32, put_tensor_i64, put_tensor_float, &
                           put_tensor_double
  !> Copy a tensor into an array
  generic :: unpack_tensor => unpack_tensor_i8, unpack_tensor_i16, unpack_tensor_i32, unpack_tensor_i64, &
                              unpack_tensor_float, unpack_tensor_double
  !> Write what a return code means to standard error; .true. for an error
  procedure :: SR_error_parser
  !> Whether initialize succeeded
  procedure :: isinitialized
  !> Disconnect and free the C client
  procedure :: destructor
  !> The C client (for the C API)
  procedure :: get_c_pointer
  procedure :: model_exists
  procedure :: tensor_exists
  procedure :: key_exists
  procedure :: dataset_exists
  procedure :: poll_model
  procedure :: poll_tensor
  procedure :: poll_dataset
  procedure :: poll_key
  procedure :: rename_tensor
  procedure :: delete_tensor
  procedure :: copy_tensor
  procedure :: set_model_from_file
  procedure :: set_model_from_file_multigpu
  procedure :: set_model
  procedure :: set_model_multigpu
  procedure :: get_model
  procedure :: set_script_from_file
  procedure :: set_script_from_file_multigpu
  procedure :: set_script
  procedure :: set_script_multigpu
  procedure :: get_script
  procedure :: run_script
  procedure :: run_script_multigpu
  procedure :: run_model
  procedure :: run_model_multigpu
  procedure :: delete_script
  procedure :: delete_script_multigpu
  procedure :: delete_model
  procedure :: delete_model_multigpu
  procedure :: put_dataset
  procedure :: get_dataset
  procedure :: rename_dataset
  procedure :: copy_dataset
  procedure :: delete_dataset
  procedure :: use_tensor_ensemble_prefix
  procedure :: use_dataset_ensemble_prefix
  procedure :: use_model_ensemble_prefix
  procedure :: use_list_ensemble_prefix
  procedure :: set_data_source
  procedure :: append_to_list
  procedure :: delete_list
  procedure :: copy_list
  procedure :: rename_list
  procedure :: get_list_length
  procedure :: poll_list_length
  procedure :: poll_list_length_gte
  procedure :: poll_list_length_lte
  procedure :: get_datasets_from_list
  procedure :: get_datasets_from_list_range
  !> A description of the client
  procedure :: to_string
  !> Write the description to a unit (default: standard error)
  procedure :: print_client

  procedure, private :: initialize_client_deprecated, initialize_client_simple, initialize_client_cfgopts
  procedure, private :: put_tensor_i8, put_tensor_i16, put_tensor_i32, put_tensor_i64, put_tensor_float, &
                        put_tensor_double
  procedure, private :: unpack_tensor_i8, unpack_tensor_i16, unpack_tensor_i32, unpack_tensor_i64, &
                        unpack_tensor_float, unpack_tensor_double
end type client_type

#include "client_c_api.inc"

contains

! ---- life cycle ---------------------------------------------------------------------------------------------

!> Connect with the settings of the environment (SSDB, SR_DB_TYPE ...); logs as `logger_name`.
function initialize_client_simple(self, logger_name) result(code)
  class(client_type), intent(inout) :: self
  character(len=*), optional, intent(in) :: logger_name
  integer(enum_kind) :: code
  character(len=:), allocatable :: name

  name = logger_or_default(logger_name)
  code = c_simple_create_client(name, len(name, kind=c_size_t), self%client_ptr)
  self%is_initialized = code == SRNoError
end function initialize_client_simple

!> Connect with the settings of `cfgopts`.
function initialize_client_cfgopts(self, cfgopts, logger_name) result(code)
  class(client_type), intent(inout) :: self
  type(configoptions_type), intent(in) :: cfgopts
  character(len=*), optional, intent(in) :: logger_name
  integer(enum_kind) :: code
  character(len=:), allocatable :: name

  name = logger_or_default(logger_name)
  code = c_create_client(cfgopts%get_c_pointer(), name, len(name, kind=c_size_t), self%client_ptr)
  self%is_initialized = code == SRNoError
end function initialize_client_cfgopts

!> Connect with the settings of the environment; `cluster` is SmartRedis's deprecated flag (simdask finds
!! the kind of store itself; see docs/smartredis.md).
function initialize_client_deprecated(self, cluster, logger_name) result(code)
  class(client_type), intent(inout) :: self
  logical, intent(in) :: cluster
  character(len=*), optional, intent(in) :: logger_name
  integer(enum_kind) :: code
  character(len=:), allocatable :: name

  name = logger_or_default(logger_name)
  code = c_deprecated_create_client(logical(cluster, c_bool), name, len(name, kind=c_size_t), self%client_ptr)
  self%is_initialized = code == SRNoError
end function initialize_client_deprecated

function logger_or_default(logger_name) result(name)
  character(len=*), optional, intent(in) :: logger_name
  character(len=:), allocatable :: name
  name = "default"
  if (present(logger_name)) name = trim(logger_name)
end function logger_or_default

!> Whether initialize succeeded (and destructor has not been called since).
logical function isinitialized(this)
  class(client_type) :: this
  isinitialized = this%is_initialized
end function isinitialized

!> Disconnect and free the C client; the client may be initialized again. SmartRedis frees nothing when a
!! client_type goes out of scope: call this before.
function destructor(self) result(code)
  class(client_type), intent(inout) :: self
  integer(enum_kind) :: code
  code = c_delete_client(self%client_ptr)
  self%client_ptr = c_null_ptr
  self%is_initialized = .false.
end function destructor

!> The C client, for calls to the C API.
function get_c_pointer(self)
  type(c_ptr) :: get_c_pointer
  class(client_type), intent(in) :: self
  get_c_pointer = self%client_ptr
end function get_c_pointer

!> Write what `response_code` means to standard error (with the last error's text); .true. unless it is
!! SRNoError.
function SR_error_parser(self, response_code) result(is_error)
  class(client_type), intent(in) :: self
  integer(enum_kind), intent(in) :: response_code
  logical :: is_error
  character(len=:), allocatable :: what

  is_error = response_code /= SRNoError
  if (.not. self%isinitialized()) then
    write(error_unit, '(a)') "SmartRedis client has not been initialized"
    is_error = .true.
    return
  end if
  if (.not. is_error) return
  select case (response_code)
  case (SRBadAllocError)
    what = "Memory allocation error"
  case (SRDatabaseError)
    what = "Backend database error"
  case (SRInternalError)
    what = "Internal SmartRedis error"
  case (SRRuntimeError)
    what = "Runtime error executing an operation"
  case (SRParameterError)
    what = "Bad parameter error"
  case (SRTimeoutError)
    what = "Timeout error"
  case (SRKeyError)
    what = "Key error"
  case (SRTypeError)
    what = "Type mismatch error"
  case default
    what = "Invalid or uninitialized response code"
  end select
  write(error_unit, '(a)') what // ": " // get_last_error()
end function SR_error_parser

!> A description of the client (its store and settings).
function to_string(self)
  character(len=:), allocatable :: to_string
  class(client_type), intent(in) :: self
  to_string = c_text(c_client_to_string(self%client_ptr))
end function to_string

!> Write to_string() to `unit` (default: standard error).
subroutine print_client(self, unit)
  class(client_type), intent(in) :: self
  integer, optional, intent(in) :: unit
  integer :: target_unit
  target_unit = error_unit
  if (present(unit)) target_unit = unit
  write(target_unit, '(a)') self%to_string()
end subroutine print_client

! ---- keys ---------------------------------------------------------------------------------------------------

!> Whether `key` (a whole store key, no prefix applied) exists.
function key_exists(self, key, exists) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: key
  logical, intent(out) :: exists
  integer(enum_kind) :: code
  logical(c_bool) :: found
  found = .false.
  code = c_key_exists(self%client_ptr, key, len_trim(key, kind=c_size_t), found)
  exists = found
end function key_exists

!> Whether model `model_name` exists.
function model_exists(self, model_name, exists) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: model_name
  logical, intent(out) :: exists
  integer(enum_kind) :: code
  logical(c_bool) :: found
  found = .false.
  code = c_model_exists(self%client_ptr, model_name, len_trim(model_name, kind=c_size_t), found)
  exists = found
end function model_exists

!> Whether tensor `tensor_name` exists.
function tensor_exists(self, tensor_name, exists) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: tensor_name
  logical, intent(out) :: exists
  integer(enum_kind) :: code
  logical(c_bool) :: found
  found = .false.
  code = c_tensor_exists(self%client_ptr, tensor_name, len_trim(tensor_name, kind=c_size_t), found)
  exists = found
end function tensor_exists

!> Whether dataset `dataset_name` exists.
function dataset_exists(this, dataset_name, exists) result(code)
  class(client_type), intent(in) :: this
  character(len=*), intent(in) :: dataset_name
  logical, intent(out) :: exists
  integer(enum_kind) :: code
  logical(c_bool) :: found
  found = .false.
  code = c_dataset_exists(this%client_ptr, dataset_name, len_trim(dataset_name, kind=c_size_t), found)
  exists = found
end function dataset_exists

!> Check up to `num_tries` times, `poll_frequency_ms` apart, whether tensor `tensor_name` exists.
function poll_tensor(self, tensor_name, poll_frequency_ms, num_tries, exists) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: tensor_name
  integer, intent(in) :: poll_frequency_ms, num_tries
  logical, intent(out) :: exists
  integer(enum_kind) :: code
  logical(c_bool) :: found
  found = .false.
  code = c_poll_tensor(self%client_ptr, tensor_name, len_trim(tensor_name, kind=c_size_t), &
                       int(poll_frequency_ms, c_int), int(num_tries, c_int), found)
  exists = found
end function poll_tensor

!> Check up to `num_tries` times, `poll_frequency_ms` apart, whether dataset `dataset_name` exists.
function poll_dataset(self, dataset_name, poll_frequency_ms, num_tries, exists) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: dataset_name
  integer, intent(in) :: poll_frequency_ms, num_tries
  logical, intent(out) :: exists
  integer(enum_kind) :: code
  logical(c_bool) :: found
  found = .false.
  code = c_poll_dataset(self%client_ptr, dataset_name, len_trim(dataset_name, kind=c_size_t), &
                        int(poll_frequency_ms, c_int), int(num_tries, c_int), found)
  exists = found
end function poll_dataset

!> Check up to `num_tries` times, `poll_frequency_ms` apart, whether model `model_name` exists.
function poll_model(self, model_name, poll_frequency_ms, num_tries, exists) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: model_name
  integer, intent(in) :: poll_frequency_ms, num_tries
  logical, intent(out) :: exists
  integer(enum_kind) :: code
  logical(c_bool) :: found
  found = .false.
  code = c_poll_model(self%client_ptr, model_name, len_trim(model_name, kind=c_size_t), &
                      int(poll_frequency_ms, c_int), int(num_tries, c_int), found)
  exists = found
end function poll_model

!> Check up to `num_tries` times, `poll_frequency_ms` apart, whether `key` exists.
function poll_key(self, key, poll_frequency_ms, num_tries, exists) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: key
  integer, intent(in) :: poll_frequency_ms, num_tries
  logical, intent(out) :: exists
  integer(enum_kind) :: code
  logical(c_bool) :: found
  found = .false.
  code = c_poll_key(self%client_ptr, key, len_trim(key, kind=c_size_t), int(poll_frequency_ms, c_int), &
                    int(num_tries, c_int), found)
  exists = found
end function poll_key

! ---- tensors ------------------------------------------------------------------------------------------------

!> Put the `capacity` elements at `data`, shaped by `dims`, as tensor `name` of type `ttype`.
function put_tensor_raw(self, name, data, capacity, dims, ttype) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: name
  type(c_ptr), intent(in) :: data
  integer(c_size_t), intent(in) :: capacity
  integer, intent(in) :: dims(:)
  integer(enum_kind), intent(in) :: ttype
  integer(enum_kind) :: code
  integer(c_size_t) :: c_dims(size(dims))

  code = dims_to_c(dims, capacity, "put_tensor", name, c_dims)
  if (code /= SRNoError) return
  code = c_put_tensor(self%client_ptr, name, len_trim(name, kind=c_size_t), data, c_dims, &
                      size(dims, kind=c_size_t), ttype, c_fortran_contiguous)
end function put_tensor_raw

!> Copy tensor `name` into the `capacity` elements at `result`, whose shape is `dims`.
function unpack_tensor_raw(self, name, result, capacity, dims, ttype) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: name
  type(c_ptr), intent(in) :: result
  integer(c_size_t), intent(in) :: capacity
  integer, intent(in) :: dims(:)
  integer(enum_kind), intent(in) :: ttype
  integer(enum_kind) :: code
  integer(c_size_t) :: c_dims(size(dims))

  code = dims_to_c(dims, capacity, "unpack_tensor", name, c_dims)
  if (code /= SRNoError) return
  code = c_unpack_tensor(self%client_ptr, name, len_trim(name, kind=c_size_t), result, c_dims, &
                         size(dims, kind=c_size_t), ttype, c_fortran_contiguous)
end function unpack_tensor_raw

#include "client_arrays.inc"

!> Rename tensor `old_name` to `new_name`.
function rename_tensor(self, old_name, new_name) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: old_name, new_name
  integer(enum_kind) :: code
  code = c_rename_tensor(self%client_ptr, old_name, len_trim(old_name, kind=c_size_t), new_name, &
                         len_trim(new_name, kind=c_size_t))
end function rename_tensor

!> Delete tensor `name`.
function delete_tensor(self, name) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: name
  integer(enum_kind) :: code
  code = c_delete_tensor(self%client_ptr, name, len_trim(name, kind=c_size_t))
end function delete_tensor

!> Copy tensor `src_name` to `dest_name`.
function copy_tensor(self, src_name, dest_name) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: src_name, dest_name
  integer(enum_kind) :: code
  code = c_copy_tensor(self%client_ptr, src_name, len_trim(src_name, kind=c_size_t), dest_name, &
                       len_trim(dest_name, kind=c_size_t))
end function copy_tensor

#include "client_models.inc"

! ---- datasets -----------------------------------------------------------------------------------------------

!> Store `dataset` under its name.
function put_dataset(self, dataset) result(code)
  class(client_type), intent(in) :: self
  type(dataset_type), intent(in) :: dataset
  integer(enum_kind) :: code
  code = c_put_dataset(self%client_ptr, dataset%get_c_pointer())
end function put_dataset

!> Fetch dataset `name` into `dataset` (a new C object).
function get_dataset(self, name, dataset) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: name
  type(dataset_type), intent(out) :: dataset
  integer(enum_kind) :: code
  code = c_get_dataset(self%client_ptr, name, len_trim(name, kind=c_size_t), dataset%dataset_ptr)
end function get_dataset

!> Rename dataset `name` to `new_name`.
function rename_dataset(self, name, new_name) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: name, new_name
  integer(enum_kind) :: code
  code = c_rename_dataset(self%client_ptr, name, len_trim(name, kind=c_size_t), new_name, &
                          len_trim(new_name, kind=c_size_t))
end function rename_dataset

!> Copy dataset `name` to `new_name`.
function copy_dataset(self, name, new_name) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: name, new_name
  integer(enum_kind) :: code
  code = c_copy_dataset(self%client_ptr, name, len_trim(name, kind=c_size_t), new_name, &
                        len_trim(new_name, kind=c_size_t))
end function copy_dataset

!> Delete dataset `name` with its tensors.
function delete_dataset(self, name) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: name
  integer(enum_kind) :: code
  code = c_delete_dataset(self%client_ptr, name, len_trim(name, kind=c_size_t))
end function delete_dataset

! ---- ensembles ----------------------------------------------------------------------------------------------

!> Read from the members named `source_id` (one of SSKEYIN's prefixes) from now on.
function set_data_source(self, source_id) result(code)
  class(client_type), intent(in) :: self
  character(len=*), intent(in) :: source_id
  integer(enum_kind) :: code
  code = c_set_data_source(self%client_ptr, source_id, len_trim(source_id, kind=c_size_t))
end function set_data_source

!> Whether model and script names get the SSKEYOUT / SSKEYIN prefixes (default: no).
function use_model_ensemble_prefix(self, use_prefix) result(code)
  class(client_type), intent(in) :: self
  logical, intent(in) :: use_prefix
  integer(enum_kind) :: code
  code = c_use_model_ensemble_prefix(self%client_ptr, logical(use_prefix, c_bool))
end function use_model_ensemble_prefix

!> Whether tensor names get the SSKEYOUT / SSKEYIN prefixes (default: yes, when those are set).
function use_tensor_ensemble_prefix(self, use_prefix) result(code)
  class(client_type), intent(in) :: self
  logical, intent(in) :: use_prefix
  integer(enum_kind) :: code
  code = c_use_tensor_ensemble_prefix(self%client_ptr, logical(use_prefix, c_bool))
end function use_tensor_ensemble_prefix

!> Whether dataset names get the SSKEYOUT / SSKEYIN prefixes (default: yes, when those are set).
function use_dataset_ensemble_prefix(self, use_prefix) result(code)
  class(client_type), intent(in) :: self
  logical, intent(in) :: use_prefix
  integer(enum_kind) :: code
  code = c_use_dataset_ensemble_prefix(self%client_ptr, logical(use_prefix, c_bool))
end function use_dataset_ensemble_prefix

!> Whether aggregation list names get the SSKEYOUT / SSKEYIN prefixes (default: yes, when those are set).
function use_list_ensemble_prefix(self, use_prefix) result(code)
  class(client_type), intent(in) :: self
  logical, intent(in) :: use_prefix
  integer(enum_kind) :: code
  code = c_use_list_ensemble_prefix(self%client_ptr, logical(use_prefix, c_bool))
end function use_list_ensemble_prefix

#include "client_lists.inc"

end module smartredis_client
