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
program diffusion
  use simdask
  implicit none
  integer, parameter :: nx = 64, ny = 48, steps = 50
  type(simdask_client) :: client
  real(8) :: u(nx, ny), next(nx, ny), kappa, x, y
  character(len=16) :: name
  logical :: found
  integer :: i, j, step, rc

  kappa = 0.1d0 ! stable for kappa <= 0.25 in 2-D
  if (client%initialize() /= SD_OK) then ! SIMDASK_ADDRESS
    print '(a)', "diffusion: cannot connect: " // client%last_error()
    error stop 1
  end if
  rc = client%delete_tensor("simdask:end") ! a marker left by an earlier run must not end this one
  do j = 1, ny
    do i = 1, nx
      x = (real(i - 1, 8) - nx / 2d0) / (nx / 20d0)
      y = (real(j - 1, 8) - ny / 2d0) / (ny / 20d0)
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
    rc = client%put_tensor(trim(name), u)
    if (rc /= SD_OK) then
      print '(a)', "diffusion: put_tensor failed: " // client%last_error()
      error stop 1
    end if
    if (step == steps / 2) then ! halfway: wait for Python's steering value
      rc = client%poll_tensor("kappa", 50, 200, found)
      if (rc == SD_OK .and. found) rc = client%unpack_tensor("kappa", kappa)
      if (rc == SD_OK .and. found) then
        rc = client%delete_tensor("kappa")
        print '(a, i0, a, f5.3, a)', "step ", step, ": kappa = ", kappa, " from Python"
      else
        print '(a, i0, a)', "step ", step, ": no steering value, kappa stays 0.1"
      end if
    end if
  end do
  rc = client%put_tensor("simdask:end", int(steps, 8)) ! the number of steps written
  print '(a, i0, a, i0, a, i0, a, f8.6)', "done: ", steps, " steps of ", nx, "x", ny, " points, max u = ", maxval(u)
  rc = client%destroy()
end program diffusion
