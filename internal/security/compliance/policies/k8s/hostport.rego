package vigil.controls.host_port

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-011",
	"title": "Containers must not bind host ports",
	"severity": "medium",
	"rationale": "hostPort exposes the container on the node's interfaces, around Services and network policies.",
	"remediation": "Remove ports[].hostPort; use a Service (NodePort or LoadBalancer) when the port must be reachable.",
	"targets": ["workload"],
	"cis": ["5.2.13"],
	"nsa": ["Network separation and hardening: network policies"],
	"pss": "baseline",
}

deny contains {"msg": sprintf("container %q binds host port %d", [x.c.name, p.hostPort]), "path": sprintf("%s.ports[%d].hostPort", [x.path, i])} if {
	some x in lib.containers
	some i, p in x.c.ports
	p.hostPort > 0
}
