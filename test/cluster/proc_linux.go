package cluster

import "syscall"

// sysProcAttr puts a component in its own process group and has the kernel
// kill it if the process that started it dies without calling Stop.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
