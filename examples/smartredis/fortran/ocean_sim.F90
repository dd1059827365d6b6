! ocean_sim.F90: a heat-diffusion "ocean" instrumented with SmartRedis's
! Fortran API, as a SmartSim user writes one; it builds and runs unchanged
! on simdask (only the library it links to differs).
!
! Each MPI rank (one rank without MPI) steps its own temperature field.
! Every OUTPUT_EVERY steps it puts the field as "T_rank<r>", reads it back
! to check it, and puts a dataset "state_rank<r>_step<n>" (the field plus
! its time and step) that it appends to the list "ocean_states", so an
! analysis script can follow the run. With a TorchScript file as argument,
! rank 0 stores it as model "ocean_model" and every rank runs it on its last
! field ("T_pred_rank<r>"): that needs the store's serving loops (a store
! started with serve=N, or an InferenceServer).
!
!   SSDB=<store address> mpirun -np 2 ./ocean_sim [model.pt]
program ocean_sim
#ifdef USE_MPI
  use mpi
#endif
  use smartredis_client, only : client_type
  use smartredis_dataset, only : dataset_type
  use smartredis_errors, only : get_last_error
  implicit none
#include "enum_fortran.inc"

  integer, parameter :: nx = 32, ny = 16, steps = 100, output_every = 25
  real(kind=8), parameter :: kappa = 0.2d0, dt = 0.1d0
  type(client_type) :: client
  type(dataset_type) :: state
  real(kind=8) :: t(nx, ny), next(nx, ny), back(nx, ny)
  real(kind=8), allocatable :: pred(:, :)
  character(len=32) :: field_key, state_name, pred_key
  character(len=512) :: model_file
  integer :: rank, nranks, ierr, step, i, j
  logical :: found

  rank = 0
  nranks = 1
#ifdef USE_MPI
  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)
#endif
  write(field_key, '(a, i0)') "T_rank", rank

  call check(client%initialize("ocean_sim"), "initialize")

  ! a warm spot, somewhere else on every rank
  do j = 1, ny
    do i = 1, nx
      t(i, j) = exp(-0.02d0 * ((i - nx / 2 - 3 * rank) ** 2 + (j - ny / 2) ** 2))
    end do
  end do

  do step = 1, steps
    next = t
    next(2:nx-1, 2:ny-1) = t(2:nx-1, 2:ny-1) + kappa * (t(1:nx-2, 2:ny-1) + t(3:nx, 2:ny-1) + &
                           t(2:nx-1, 1:ny-2) + t(2:nx-1, 3:ny) - 4 * t(2:nx-1, 2:ny-1))
    t = next
    if (mod(step, output_every) /= 0) cycle

    call check(client%put_tensor(trim(field_key), t, shape(t)), "put_tensor")
    call check(client%unpack_tensor(trim(field_key), back, shape(back)), "unpack_tensor")
    if (any(back /= t)) error stop "the field read back differs"

    write(state_name, '(a, i0, a, i0)') "state_rank", rank, "_step", step
    call check(state%initialize(trim(state_name)), "dataset initialize")
    call check(state%add_tensor("T", t, shape(t)), "add_tensor")
    call check(state%add_meta_scalar("time", step * dt), "add_meta_scalar time")
    call check(state%add_meta_scalar("step", step), "add_meta_scalar step")
    call check(client%put_dataset(state), "put_dataset")
    call check(client%append_to_list("ocean_states", state), "append_to_list")
  end do

  if (command_argument_count() >= 1) then
    call get_command_argument(1, model_file)
    if (rank == 0) call check(client%set_model_from_file("ocean_model", trim(model_file), "TORCH", "CPU"), &
                              "set_model_from_file")
    call check(client%poll_model("ocean_model", 100, 100, found), "poll_model")
    if (.not. found) error stop "ocean_model was not stored"
    write(pred_key, '(a, i0)') "T_pred_rank", rank
    call check(client%run_model("ocean_model", [field_key], [pred_key]), "run_model")
    allocate(pred(nx, ny))
    call check(client%unpack_tensor(trim(pred_key), pred, shape(pred)), "unpack_tensor prediction")
    print '(a, i0, a, f8.5)', "rank ", rank, ": model output max ", maxval(pred)
  end if

  call check(client%destructor(), "destructor")
  print '(a, i0, a, i0, a)', "rank ", rank, " of ", nranks, ": done"
#ifdef USE_MPI
  call MPI_Finalize(ierr)
#endif

contains

  !> Stop the program with SmartRedis's message when a call fails.
  subroutine check(code, what)
    integer, intent(in) :: code
    character(len=*), intent(in) :: what
    if (code /= SRNoError) then
      write(*, '(a, i0, a)') what // " failed (", code, "): " // get_last_error()
      error stop 1
    end if
  end subroutine check

end program ocean_sim
