// Command pause is the pod sandbox's first process, as registry.k8s.io/pause is: it holds the pod's
// namespaces, reaps orphaned children and exits on SIGINT or SIGTERM. Built here (static, no cgo) so the
// real-node end-to-end test needs no image pull.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
