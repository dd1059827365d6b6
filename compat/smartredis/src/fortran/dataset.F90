!> SmartRedis's DataSet for Fortran (simdask compatibility layer): named
!! tensors plus metadata fields, put into and got from the store as one
!! (client_type's put_dataset / get_dataset / append_to_list).
!!
!!     use smartredis_dataset, only : dataset_type
!!     type(dataset_type) :: ds
!!     real(kind=8) :: u(64, 32)
!!     rc = ds%initialize("step_10")
!!     rc = ds%add_tensor("u", u, shape(u))        ! copies u: the buffer may be reused at once
!!     rc = ds%add_meta_scalar("time", 1.5d0)      ! real(4|8), integer(4|8)
!!     rc = ds%add_meta_string("model", "ocean")
!!
!! Tensors: real(c_float|c_double), integer(c_int8_t|c_int16_t|c_int32_t|
!! c_int64_t) arrays of any rank, in Fortran order; `dims` gives the
!! tensor's shape (normally shape(array); it may reshape, but may not
!! describe more elements than the array has). Every function returns
!! SRNoError or an SR*Error code of enum_fortran.inc; get_last_error() of
!! smartredis_errors says why. Memory from get_meta_scalars belongs to the
!! dataset.
module smartredis_dataset

use iso_c_binding, only : c_ptr, c_null_ptr, c_char, c_size_t, c_loc, c_f_pointer, c_associated
use iso_c_binding, only : c_int8_t, c_int16_t, c_int32_t, c_int64_t, c_float, c_double
use, intrinsic :: iso_fortran_env, only : error_unit
use fortran_c_interop, only : enum_kind, c_text, dims_to_c, fortran_error

implicit none; private

#include "enum_fortran.inc"

public :: enum_kind

!> Tensors and metadata stored and fetched as one (a C DataSet object).
type, public :: dataset_type
  type(c_ptr) :: dataset_ptr = c_null_ptr !< the C object (null before initialize)
contains
  !> Make an empty dataset with its name
  procedure :: initialize => initialize_dataset
  !> The C object (for the C API)
  procedure :: get_c_pointer
  !> Append a string to a metadata field
  procedure :: add_meta_string
  !> Append a scalar (real(4|8), integer(4|8)) to a metadata field
  generic :: add_meta_scalar => add_meta_scalar_double, add_meta_scalar_float, add_meta_scalar_i32, &
                                add_meta_scalar_i64
  !> The scalars of a metadata field, as a pointer of the field's type
  generic :: get_meta_scalars => get_meta_scalars_double, get_meta_scalars_float, get_meta_scalars_i32, &
                                 get_meta_scalars_i64
  !> The type of a metadata field (meta_dbl ...)
  procedure :: get_metadata_field_type
  !> Add (a copy of) an array as a tensor
  generic :: add_tensor => add_tensor_i8, add_tensor_i16, add_tensor_i32, add_tensor_i64, add_tensor_float, &
                           add_tensor_double
  !> Copy a tensor of the dataset into an array
  generic :: unpack_dataset_tensor => unpack_dataset_tensor_i8, unpack_dataset_tensor_i16, &
                                      unpack_dataset_tensor_i32, unpack_dataset_tensor_i64, &
                                      unpack_dataset_tensor_float, unpack_dataset_tensor_double
  !> The type of a tensor (tensor_dbl ...)
  procedure :: get_tensor_type
  !> The dimensions of a tensor
  procedure :: get_tensor_dims
  !> A description of the dataset
  procedure :: to_string
  !> Write the description to a unit (default: standard error)
  procedure :: print_dataset

  procedure, private :: add_tensor_i8, add_tensor_i16, add_tensor_i32, add_tensor_i64, add_tensor_float, &
                        add_tensor_double
  procedure, private :: unpack_dataset_tensor_i8, unpack_dataset_tensor_i16, unpack_dataset_tensor_i32, &
                        unpack_dataset_tensor_i64, unpack_dataset_tensor_float, unpack_dataset_tensor_double
  procedure, private :: add_meta_scalar_double, add_meta_scalar_float, add_meta_scalar_i32, add_meta_scalar_i64
  procedure, private :: get_meta_scalars_double, get_meta_scalars_float, get_meta_scalars_i32, &
                        get_meta_scalars_i64
end type dataset_type

#include "dataset_c_api.inc"

contains

!> Make an empty dataset named `name`.
function initialize_dataset(self, name) result(code)
  class(dataset_type), intent(inout) :: self
  character(len=*), intent(in) :: name
  integer(enum_kind) :: code
  code = c_dataset(name, len_trim(name, kind=c_size_t), self%dataset_ptr)
end function initialize_dataset

!> The C object, for calls to the C API.
function get_c_pointer(self)
  type(c_ptr) :: get_c_pointer
  class(dataset_type), intent(in) :: self
  get_c_pointer = self%dataset_ptr
end function get_c_pointer

!> Add a copy of the `capacity` elements at `data`, shaped by `dims`, as tensor `name` of type `ttype`.
function add_tensor_raw(self, name, data, capacity, dims, ttype) result(code)
  class(dataset_type), intent(in) :: self
  character(len=*), intent(in) :: name
  type(c_ptr), intent(in) :: data
  integer(c_size_t), intent(in) :: capacity
  integer, intent(in) :: dims(:)
  integer(enum_kind), intent(in) :: ttype
  integer(enum_kind) :: code
  integer(c_size_t) :: c_dims(size(dims))

  code = dims_to_c(dims, capacity, "add_tensor", name, c_dims)
  if (code /= SRNoError) return
  code = c_add_tensor(self%dataset_ptr, name, len_trim(name, kind=c_size_t), data, c_dims, &
                      size(dims, kind=c_size_t), ttype, c_fortran_contiguous)
end function add_tensor_raw

!> Copy tensor `name` into the `capacity` elements at `result`, whose shape is `dims`.
function unpack_dataset_tensor_raw(self, name, result, capacity, dims, ttype) result(code)
  class(dataset_type), intent(in) :: self
  character(len=*), intent(in) :: name
  type(c_ptr), intent(in) :: result
  integer(c_size_t), intent(in) :: capacity
  integer, intent(in) :: dims(:)
  integer(enum_kind), intent(in) :: ttype
  integer(enum_kind) :: code
  integer(c_size_t) :: c_dims(size(dims))

  code = dims_to_c(dims, capacity, "unpack_dataset_tensor", name, c_dims)
  if (code /= SRNoError) return
  code = c_unpack_dataset_tensor(self%dataset_ptr, name, len_trim(name, kind=c_size_t), result, c_dims, &
                                 size(dims, kind=c_size_t), ttype, c_fortran_contiguous)
end function unpack_dataset_tensor_raw

!> Append the scalar at `meta`, of type `mtype`, to field `name`.
function add_meta_scalar_raw(self, name, meta, mtype) result(code)
  class(dataset_type), intent(in) :: self
  character(len=*), intent(in) :: name
  type(c_ptr), intent(in) :: meta
  integer(enum_kind), intent(in) :: mtype
  integer(enum_kind) :: code
  code = c_add_meta_scalar(self%dataset_ptr, name, len_trim(name, kind=c_size_t), meta, mtype)
end function add_meta_scalar_raw

!> The values of field `name` (`values`, `n` of them); SRTypeError when the field's type is not `expected`.
function get_meta_scalars_raw(self, name, expected, values, n) result(code)
  class(dataset_type), intent(in) :: self
  character(len=*), intent(in) :: name
  integer(enum_kind), intent(in) :: expected
  type(c_ptr), intent(out) :: values
  integer(c_size_t), intent(out) :: n
  integer(enum_kind) :: code
  integer(enum_kind) :: mtype

  values = c_null_ptr
  n = 0
  mtype = meta_invalid
  code = c_get_meta_scalars(self%dataset_ptr, name, len_trim(name, kind=c_size_t), n, mtype, values)
  if (code /= SRNoError) return
  if (mtype /= expected) then
    code = fortran_error(SRTypeError, "get_meta_scalars", "metadata field '" // trim(name) // "' holds " // &
                         meta_type_name(mtype) // " values, not " // meta_type_name(expected))
    values = c_null_ptr
    n = 0
  end if
end function get_meta_scalars_raw

pure function meta_type_name(mtype) result(text)
  integer(enum_kind), intent(in) :: mtype
  character(len=:), allocatable :: text
  select case (mtype)
  case (meta_dbl)
    text = "real(c_double)"
  case (meta_flt)
    text = "real(c_float)"
  case (meta_int32)
    text = "integer(c_int32_t)"
  case (meta_int64)
    text = "integer(c_int64_t)"
  case (meta_string)
    text = "string"
  case default
    text = "unsigned integer"
  end select
end function meta_type_name

#include "dataset_arrays.inc"

!> Append `meta` to the string field `name`.
function add_meta_string(self, name, meta) result(code)
  class(dataset_type), intent(in) :: self
  character(len=*), intent(in) :: name
  character(len=*), intent(in) :: meta
  integer(enum_kind) :: code
  code = c_add_meta_string(self%dataset_ptr, name, len_trim(name, kind=c_size_t), meta, &
                           len_trim(meta, kind=c_size_t))
end function add_meta_string

!> The type of field `name` in `mdtype` (meta_dbl, meta_flt, meta_int32, meta_int64, meta_string).
function get_metadata_field_type(self, name, mdtype) result(code)
  class(dataset_type), intent(in) :: self
  character(len=*), intent(in) :: name
  integer(enum_kind), intent(out) :: mdtype
  integer(enum_kind) :: code
  mdtype = meta_invalid
  code = c_get_metadata_field_type(self%dataset_ptr, name, len_trim(name, kind=c_size_t), mdtype)
end function get_metadata_field_type

!> The type of tensor `name` in `ttype` (tensor_dbl, tensor_flt, tensor_int8 ...).
function get_tensor_type(self, name, ttype) result(code)
  class(dataset_type), intent(in) :: self
  character(len=*), intent(in) :: name
  integer(enum_kind), intent(out) :: ttype
  integer(enum_kind) :: code
  ttype = tensor_invalid
  code = c_get_tensor_type(self%dataset_ptr, name, len_trim(name, kind=c_size_t), ttype)
end function get_tensor_type

!> The dimensions of tensor `name` in dims(1:dims_length). On entry dims_length is the room in `dims`
!! (at most size(dims)); on exit it is the tensor's rank. With too little room: SRBadAllocError, and
!! dims_length says how much is needed.
function get_tensor_dims(self, name, dims, dims_length) result(code)
  class(dataset_type), intent(in) :: self
  character(len=*), intent(in) :: name
  integer, dimension(:), target, intent(inout) :: dims
  integer, intent(inout) :: dims_length
  integer(enum_kind) :: code
  integer(c_size_t), target :: c_dims(max(size(dims), 1))
  type(c_ptr) :: c_dims_ptr
  integer(c_size_t) :: n

  if (dims_length < 0 .or. dims_length > size(dims)) then
    code = fortran_error(SRParameterError, "get_tensor_dims", "dims_length is outside 0 .. size(dims)")
    return
  end if
  c_dims = 0
  c_dims_ptr = c_loc(c_dims)
  n = int(dims_length, c_size_t)
  code = c_get_tensor_dims(self%dataset_ptr, name, len_trim(name, kind=c_size_t), c_dims_ptr, n)
  if (code == SRNoError) dims(1:n) = int(c_dims(1:n))
  if (code == SRNoError .or. code == SRBadAllocError) dims_length = int(n)
end function get_tensor_dims

!> A description of the dataset (its name, tensors and fields).
function to_string(self)
  character(len=:), allocatable :: to_string
  class(dataset_type), intent(in) :: self
  to_string = c_text(c_dataset_to_string(self%dataset_ptr))
end function to_string

!> Write to_string() to `unit` (default: standard error).
subroutine print_dataset(self, unit)
  class(dataset_type), intent(in) :: self
  integer, optional, intent(in) :: unit
  integer :: target_unit
  target_unit = error_unit
  if (present(unit)) target_unit = unit
  write(target_unit, '(a)') self%to_string()
end subroutine print_dataset

end module smartredis_dataset
