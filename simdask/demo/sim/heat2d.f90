!! heat2d.f90: the demo's simulation, in Fortran: the twin of heat2d.c (read
!! its header for the physics and the keys). A heated plate with cold walls,
!! a heater of strength S and radiative cooling R(T) = EPS * T**4; the field
!! T(nx, ny) is split into one band of columns y per MPI rank (halo columns
!! exchanged with MPI; waits on MPI sleep rather than spin), stored in Fortran order as T(x, y): it opens in
!! Python as the same T(step, y, x) as the C program's T[ny][nx].
!!
!! Each step: rank 0 reads the steering tensor CONTROL = [S, use_surrogate,
!! seen] (again, while the analysis has not seen step - LAG) and broadcasts it; every rank asks run_model(MODEL) for the cooling term
!! (and uses its answer when told to), sends training samples every
!! SAMPLE_EVERY steps, advances T and puts its band "T_<step>_<rank>",
!! described. Calls without `status` stop the program with the client's
!! message on any failure (a non-zero exit).
!!
!!   mpirun -np 2 heat2d_f NX NY STEPS EPS SAMPLE_EVERY CONTROL MODEL PAUSE_MS LAG
program heat2d
  use, intrinsic :: iso_c_binding, only: c_int
  use, intrinsic :: iso_fortran_env, only: real32, real64
  use mpi
  use simdask
  implicit none
  real(real64), parameter :: dt_step = 2e-3_real64, heat_x = 0.5_real64, heat_y = 0.35_real64, &
                             heat_w = 0.08_real64, wait_s = 60  ! wait_s: longest wait for the analysis
  interface
    integer(c_int) function c_usleep(microseconds) bind(C, name="usleep")
      import :: c_int
      integer(c_int), value :: microseconds
    end function
  end interface
  type(simdask_client) :: client
  type(simdask_tensor_meta) :: meta
  type(simdask_dataset) :: sample
  real(real64), allocatable, asynchronous :: t(:, :)  ! its halos are received by nonblocking MPI calls
  real(real64), allocatable :: tnext(:, :), heat(:, :), r(:, :), xs(:), ys(:), latency(:)
  real(real32), allocatable :: tin(:, :), cool(:, :), rf(:, :)
  real(real64), asynchronous :: ctrl(3), error  ! ctrl: [S, use_surrogate, the last step the analysis saw]
  real(real64) :: bytes(2), eps, pause_ms, hx, hy, dt, began, called, lap, left
  integer :: requests(4)
  integer :: rank, nranks, ierr, nx, ny, steps, sample_every, lag, n, y0, up, down, substeps, step, s, i, j, gy, rc
  logical :: use_model, waiting
  character(len=256) :: control, model
  character(len=64) :: arg, name, tin_name, cool_name

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)
  if (command_argument_count() /= 9) then
    if (rank == 0) write (0, '(a)') "usage: heat2d_f NX NY STEPS EPS SAMPLE_EVERY CONTROL MODEL PAUSE_MS LAG"
    call MPI_Abort(MPI_COMM_WORLD, 2, ierr)
  end if
  call get_command_argument(1, arg)
  read (arg, *) nx
  call get_command_argument(2, arg)
  read (arg, *) ny
  call get_command_argument(3, arg)
  read (arg, *) steps
  call get_command_argument(4, arg)
  read (arg, *) eps
  call get_command_argument(5, arg)
  read (arg, *) sample_every
  call get_command_argument(6, control)
  call get_command_argument(7, model)
  call get_command_argument(8, arg)
  read (arg, *) pause_ms
  call get_command_argument(9, arg)
  read (arg, *) lag
  use_model = trim(model) /= "-"
  if (nx < 3 .or. ny < nranks + 2 .or. steps < 1 .or. sample_every < 1 .or. lag < 1) then
    if (rank == 0) write (0, '(a)') "heat2d_f: need NX >= 3, NY >= ranks + 2, STEPS >= 1, SAMPLE_EVERY >= 1, LAG >= 1"
    call MPI_Abort(MPI_COMM_WORLD, 2, ierr)
  end if

  ! this rank's columns y0 .. y0 + n - 1, 0-based (the first mod(ny, nranks) ranks get one more), plus halos
  n = ny / nranks
  y0 = rank * n + min(rank, mod(ny, nranks))
  if (rank < mod(ny, nranks)) n = n + 1
  up = MPI_PROC_NULL
  down = MPI_PROC_NULL
  if (rank > 0) up = rank - 1
  if (rank < nranks - 1) down = rank + 1
  hx = 1.0_real64 / (nx - 1)
  hy = 1.0_real64 / (ny - 1)
  substeps = ceiling(dt_step / (0.4_real64 / (1 / hx**2 + 1 / hy**2)))
  dt = dt_step / substeps
  allocate (t(nx, 0:n + 1), tnext(nx, 0:n + 1), heat(nx, n), r(nx, n), xs(nx), ys(n), latency(steps))
  allocate (tin(nx, n), cool(nx, n), rf(nx, n))
  t = 0
  tnext = 0
  latency = 0
  xs = [(hx * (i - 1), i = 1, nx)]
  ys = [(hy * (y0 + j - 1), j = 1, n)]
  do j = 1, n
    do i = 1, nx
      heat(i, j) = exp(-((xs(i) - heat_x)**2 + (ys(j) - heat_y)**2) / (2 * heat_w**2))
    end do
  end do

  call client%initialize()
  call meta%initialize()
  call meta%set_dims([character(len=1) :: "x", "y"])
  call meta%set_attr("units", "1")
  call meta%set_attr("long_name", "temperature")
  call meta%set_attr("language", "Fortran")
  call meta%set_coord_array("x", xs)
  call meta%set_coord_array("y", ys)
  call meta%set_block([nx, ny], [1, y0 + 1])
  write (tin_name, '(a,i0)') "Tin_", rank
  write (cool_name, '(a,i0)') "cool_", rank
  ctrl = [0.0_real64, 0.0_real64, 1e9_real64]
  waiting = .true.  ! for the analysis, while it keeps up
  bytes = 0

  do step = 0, steps - 1
    began = MPI_Wtime()
    do while (rank == 0)  ! none yet: keep the last values
      call client%unpack_tensor(trim(control), ctrl, status=rc)
      if (rc == SD_OK) then
        bytes(2) = bytes(2) + 24
      else if (rc /= SD_ERR_NOT_FOUND) then
        call fail(trim(control))
      end if
      if (rc /= SD_OK .or. .not. waiting .or. step - ctrl(3) <= lag) exit
      if (MPI_Wtime() - began > wait_s) then
        write (0, '(a,f0.0,a)') "heat2d_f: the analysis saw no step after ", ctrl(3), &
          " for 60 s: going on without waiting"
        waiting = .false.
      end if
      ierr = c_usleep(2000_c_int)
    end do
    call MPI_Ibcast(ctrl, 2, MPI_DOUBLE_PRECISION, 0, MPI_COMM_WORLD, requests(1), ierr)
    call settle(requests(1:1))

    r = eps * t(:, 1:n)**4
    tin = real(t(:, 1:n), real32)
    rf = real(r, real32)
    error = 0
    if (use_model) then
      call client%put_tensor(trim(tin_name), tin)
      called = MPI_Wtime()
      call client%run_model(trim(model), [character(len=len_trim(tin_name)) :: trim(tin_name)], &
                            [character(len=len_trim(cool_name)) :: trim(cool_name)])
      latency(step + 1) = 1e3_real64 * (MPI_Wtime() - called)
      call client%unpack_tensor(trim(cool_name), cool)
      bytes = bytes + 4 * real(nx, real64) * n
      error = maxval(abs(cool - r))
      if (ctrl(2) /= 0) r = max(real(cool, real64), 0.0_real64)
    end if
    call MPI_Iallreduce(MPI_IN_PLACE, error, 1, MPI_DOUBLE_PRECISION, MPI_MAX, MPI_COMM_WORLD, requests(1), ierr)
    call settle(requests(1:1))

    if (mod(step, sample_every) == 0) then
      write (name, '(a,i0,a,i0)') "sample_", step, "_", rank
      call sample%initialize(trim(name))
      call sample%add_tensor("T", reshape(tin, [nx * n]))
      call sample%add_tensor("cooling", reshape(rf, [nx * n]))
      call client%put_dataset(sample)
      call client%append_to_list("samples", sample)
      call sample%destroy()
      bytes(1) = bytes(1) + 8 * real(nx, real64) * n
    end if

    do s = 1, substeps
      ! halo columns: the first one goes up, the last one down
      call MPI_Irecv(t(1, 0), nx, MPI_DOUBLE_PRECISION, up, 1, MPI_COMM_WORLD, requests(1), ierr)
      call MPI_Irecv(t(1, n + 1), nx, MPI_DOUBLE_PRECISION, down, 0, MPI_COMM_WORLD, requests(2), ierr)
      call MPI_Isend(t(1, 1), nx, MPI_DOUBLE_PRECISION, up, 0, MPI_COMM_WORLD, requests(3), ierr)
      call MPI_Isend(t(1, n), nx, MPI_DOUBLE_PRECISION, down, 1, MPI_COMM_WORLD, requests(4), ierr)
      call settle(requests)
      do j = 1, n
        gy = y0 + j - 1
        do i = 1, nx
          if (gy == 0 .or. gy == ny - 1 .or. i == 1 .or. i == nx) then
            tnext(i, j) = 0  ! cold walls
            cycle
          end if
          lap = (t(i - 1, j) - 2 * t(i, j) + t(i + 1, j)) / hx**2 + (t(i, j - 1) - 2 * t(i, j) + t(i, j + 1)) / hy**2
          tnext(i, j) = t(i, j) + dt * (lap + ctrl(1) * heat(i, j) - r(i, j))
        end do
      end do
      t(:, 1:n) = tnext(:, 1:n)
    end do

    write (name, '(a,i0,a,i0)') "T_", step, "_", rank
    call meta%set_coord("time", dt_step * (step + 1))
    call meta%set_coord("heating", ctrl(1))
    if (use_model) then
      call meta%set_coord("surrogate", ctrl(2))
    else
      call meta%set_coord("surrogate", 0.0_real64)
    end if
    call meta%set_coord("model_error", error)
    call client%put_tensor(trim(name), t(:, 1:n), meta)
    bytes(1) = bytes(1) + 8 * real(nx, real64) * n
    left = pause_ms * 1e-3_real64 - (MPI_Wtime() - began)
    if (left > 0) ierr = c_usleep(int(left * 1e6_real64, c_int))
  end do

  write (name, '(a,i0)') "latency_", rank
  if (use_model) call client%put_tensor(trim(name), latency)
  write (name, '(a,i0)') "io_", rank
  call client%put_tensor(trim(name), bytes)
  call meta%destroy()
  call client%destroy()  ! ends this rank's part of the run
  call MPI_Finalize(ierr)

contains

  !> Waits for nonblocking MPI requests without spinning a core for long (the demo runs more processes than a
  !! laptop has cores: a rank spinning in a blocking call would take the core another needs).
  subroutine settle(reqs)
    integer, intent(inout) :: reqs(:)
    logical :: done
    integer :: tries, rc
    do tries = 0, huge(tries) - 1
      call MPI_Testall(size(reqs), reqs, done, MPI_STATUSES_IGNORE, rc)
      if (done) return
      if (tries > 20) rc = c_usleep(100_c_int)
    end do
  end subroutine settle

  subroutine fail(what)
    character(len=*), intent(in) :: what
    write (0, '(a,i0,a,a,a,a)') "heat2d_f rank ", rank, ": ", what, ": ", trim(client%last_error())
    call MPI_Abort(MPI_COMM_WORLD, 2, ierr)
  end subroutine fail

end program heat2d
