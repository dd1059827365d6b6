!! The Fortran twin of mpi_ranks.c: each rank writes u(nx, ny) over 3 steps,
!! reads its neighbour's block, gets SD_ERR_TIMEOUT from a put while the test
!! freezes the store (timeouts given to initialize), and puts again after.
program mpi_ranks
  use, intrinsic :: iso_fortran_env, only: real64, int64
  use mpi
  use simdask
  implicit none
  integer, parameter :: nx = 32, ny = 16
  type(simdask_client) :: client
  real(real64) :: u(nx, ny), back(nx, ny)
  integer :: rank, nranks, ierr, step, i, j, rc, other
  integer(int64) :: t0, t1, rate
  character(len=64) :: name

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)
  call client%initialize(connect_timeout_ms=1000, io_timeout_ms=1000, status=rc)
  if (rc /= SD_OK) call fail("initialize")
  do step = 0, 2
    do j = 1, ny
      do i = 1, nx
        u(i, j) = rank * 1000 + step * 100 + (j - 1) * nx + (i - 1)
      end do
    end do
    write (name, '(a,i0,a,i0)') "f.rank", rank, ".step", step
    call client%put_tensor(trim(name), u, status=rc)
    if (rc /= SD_OK) call fail(trim(name))
  end do
  call MPI_Barrier(MPI_COMM_WORLD, ierr)
  other = mod(rank + 1, nranks)
  write (name, '(a,i0,a)') "f.rank", other, ".step2"
  call client%unpack_tensor(trim(name), back, status=rc)
  if (rc /= SD_OK) call fail(trim(name))
  if (back(nx, ny) /= other * 1000 + 200 + nx * ny - 1) call fail("neighbour's block")

  call touch("ready")
  call wait_for("frozen")
  call system_clock(t0, rate)
  call client%put_tensor("f.frozen", u, status=rc)
  call system_clock(t1)
  print '(a,i0,a,i0,a,i0,a)', "rank ", rank, ": frozen put status ", rc, " after ", (t1 - t0) * 1000 / rate, " ms"
  flush (6)
  if (rc /= SD_ERR_TIMEOUT) call fail("put into a frozen store")
  call touch("done")
  call wait_for("thawed")
  write (name, '(a,i0,a)') "f.rank", rank, ".after"
  call client%put_tensor(trim(name), u, status=rc)
  if (rc /= SD_OK) call fail(trim(name))
  call client%destroy()
  call MPI_Finalize(ierr)

contains

  subroutine fail(what)
    character(len=*), intent(in) :: what
    write (0, '(a,i0,a,a,a,a)') "rank ", rank, ": ", what, ": ", client%last_error()
    call MPI_Abort(MPI_COMM_WORLD, 1, ierr)
    error stop 1
  end subroutine fail

  subroutine touch(base)
    character(len=*), intent(in) :: base
    character(len=64) :: path
    integer :: unit
    write (path, '(a,a,i0)') base, ".", rank
    open (newunit=unit, file=trim(path), status="replace")
    close (unit)
  end subroutine touch

  subroutine wait_for(path)
    character(len=*), intent(in) :: path
    logical :: there
    integer :: tries
    do tries = 1, 3000  ! 60 s in 20 ms steps
      inquire (file=path, exist=there)
      if (there) return
      call sleep_ms(20)
    end do
    call fail("no '"//path//"' in time")
  end subroutine wait_for

  subroutine sleep_ms(ms)
    use iso_c_binding, only: c_int
    integer, intent(in) :: ms
    interface
      integer(c_int) function usleep(us) bind(C, name="usleep")
        import :: c_int
        integer(c_int), value :: us
      end function usleep
    end interface
    integer(c_int) :: ignored
    ignored = usleep(int(ms * 1000, c_int))
  end subroutine sleep_ms
end program mpi_ranks
