!! heat.f90: the Fortran twin of heat.c. A 2-D temperature field
!! theta(NX, NZ) is split along x into one slab per rank (uneven when NX is
!! not a multiple of the rank count); every step each rank puts its slab
!! theta(x0:x0+nx-1, 1:NZ) as "theta_<step>_<rank>", described: dimension
!! names ("x", "z") in Fortran's index order, units, the step's model time,
!! its x coordinates, and where the slab sits in the global array (1-based).
!! Python opens it as the same Dataset as heat.c's theta[NZ][NX]:
!! theta(step, z, x), with no copy on either side.
!!
!! Under mpirun the ranks write one run with no code for it; destroying the
!! client ends this rank's part. Calls without `status` stop the program
!! with `error stop` and the message on any failure: a non-zero exit.
!!
!!   mpirun -np 3 ./heat_f [steps] [pause seconds] [offset]
program heat
  use, intrinsic :: iso_c_binding, only: c_int
  use, intrinsic :: iso_fortran_env, only: real64
  use mpi
  use simdask
  implicit none
  integer, parameter :: nz = 6, ngx = 20
  real(real64), parameter :: dt = 0.5_real64
  interface
    integer(c_int) function c_usleep(microseconds) bind(C, name="usleep")
      import :: c_int
      integer(c_int), value :: microseconds
    end function
    integer(c_int) function c_getpid() bind(C, name="getpid")
      import :: c_int
    end function
  end interface
  type(simdask_client) :: client
  type(simdask_tensor_meta) :: meta
  real(real64), allocatable :: slab(:, :), xs(:)
  real(real64) :: pause, offset
  integer :: rank, nranks, ierr, steps, step, nx, x0, i, z, unit, hang
  character(len=64) :: arg, name

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)
  steps = 5
  pause = 0.2_real64
  offset = 0
  if (command_argument_count() >= 1) then
    call get_command_argument(1, arg)
    read (arg, *) steps
  end if
  if (command_argument_count() >= 2) then
    call get_command_argument(2, arg)
    read (arg, *) pause
  end if
  if (command_argument_count() >= 3) then
    call get_command_argument(3, arg)
    read (arg, *) offset
  end if

  ! this rank's slab: columns x0 .. x0 + nx - 1, 0-based (the first mod(ngx, nranks) ranks get one more)
  nx = ngx / nranks
  x0 = rank * nx + min(rank, mod(ngx, nranks))
  if (rank < mod(ngx, nranks)) nx = nx + 1
  allocate (slab(nx, nz), xs(nx))
  xs = [(100.0_real64 * (x0 + i - 1), i = 1, nx)]  ! metres

  write (name, '(a,i0)') "pid.", rank
  open (newunit=unit, file=trim(name), status="replace", action="write")
  write (unit, '(i0)') c_getpid()
  close (unit)

  call client%initialize()
  call meta%initialize()
  call meta%set_dims([character(len=1) :: "x", "z"])
  call meta%set_attr("units", "K")
  call meta%set_attr("long_name", "potential temperature")
  call meta%set_coord_array("x", xs)
  call meta%set_block([ngx, nz], [x0 + 1, 1])

  do step = 0, steps - 1
    do z = 1, nz
      do i = 1, nx
        slab(i, z) = field(z - 1, x0 + i - 1, step)
      end do
    end do
    write (name, '(a,i0,a,i0)') "theta_", step, "_", rank
    call meta%set_coord("time", dt * step)
    call client%put_tensor(trim(name), slab, meta)
    ierr = c_usleep(int(pause * 1e6_real64, c_int))
  end do
  call get_environment_variable("HEAT_HANG_RANK", arg)
  hang = -1
  if (len_trim(arg) > 0) read (arg, *) hang
  if (hang == rank) ierr = c_usleep(600000000_c_int)  ! to be killed
  call meta%destroy()
  call client%destroy()  ! ends this rank's part of the run
  call MPI_Finalize(ierr)

contains

  !> The field's value at 0-based global (z, x) and step: the same in every language and decomposition.
  pure real(real64) function field(z, x, step)
    integer, intent(in) :: z, x, step
    field = offset + 280.0_real64 + step + 0.1_real64 * z + 0.001_real64 * x
  end function

end program heat
