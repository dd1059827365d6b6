! diffusion.f90: a 2-D heat equation that streams its field to a simdask
! store and takes a steering value back from Python.
!
!   SIMDASK_ADDRESS=127.0.0.1:6379 ./diffusion
!
! Every step puts the field u(nx, ny) as tensor "u.<step>": Python reads it
! with shape (nx, ny) and u[i-1, j-1] == u(i, j), no copy on either side.
! Halfway it polls for the scalar tensor "kappa" (the diffusivity) written
! from Python (see ../c/steer.py), uses it from then on, and deletes it.
! The run ends with the end-of-run marker "simdask:end" (docs/protocol.md).
! A failed call (no store, a store that stops answering) ends the program
! with the message on stderr and a non-zero exit status (docs/fortran.md).
program diffusion
  use, intrinsic :: iso_fortran_env, only: real64, int64
  use simdask
  implicit none
  integer, parameter :: nx = 64, ny = 48, steps = 50
  type(simdask_client) :: client
  real(real64) :: u(nx, ny), next(nx, ny), kappa, x, y
  character(len=16) :: name
  logical :: found
  integer :: i, j, step

  ! Every call without a status argument ends the program on failure (message on stderr, non-zero exit).
  kappa = 0.1_real64 ! stable for kappa <= 0.25 in 2-D
  call client%initialize() ! SIMDASK_ADDRESS
  call client%delete_tensor("simdask:end") ! a marker left by an earlier run must not end this one
  do j = 1, ny
    do i = 1, nx
      x = (real(i - 1, real64) - nx / 2.0_real64) / (nx / 20.0_real64)
      y = (real(j - 1, real64) - ny / 2.0_real64) / (ny / 20.0_real64)
      u(i, j) = exp(-(x * x + y * y))
    end do
  end do

  do step = 0, steps - 1
    next = 0
    do j = 2, ny - 1
      do i = 2, nx - 1
        next(i, j) = u(i, j) + kappa * ((u(i + 1, j) - 2 * u(i, j) + u(i - 1, j)) &
                                      + (u(i, j + 1) - 2 * u(i, j) + u(i, j - 1)))
      end do
    end do
    u = next
    write (name, '(a, i4.4)') "u.", step
    call client%put_tensor(trim(name), u)
    if (step == steps / 2) then ! halfway: wait for Python's steering value
      call client%poll_tensor("kappa", 50, 200, found)
      if (found) then
        call client%unpack_tensor("kappa", kappa)
        call client%delete_tensor("kappa")
        print '(a, i0, a, f5.3, a)', "step ", step, ": kappa = ", kappa, " from Python"
      else
        print '(a, i0, a)', "step ", step, ": no steering value, kappa stays 0.1"
      end if
    end if
  end do
  call client%put_tensor("simdask:end", int(steps, int64)) ! the number of steps written
  print '(a, i0, a, i0, a, i0, a, f8.6)', "done: ", steps, " steps of ", nx, "x", ny, " points, max u = ", maxval(u)
  call client%destroy()
end program diffusion
