package vigil.controls.secrets_in_env

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-016",
	"title": "Secrets should be mounted as files, not passed as environment variables",
	"severity": "low",
	"rationale": "Environment variables end up in crash dumps, logs and child processes; files can be permission-restricted and rotate.",
	"remediation": "Mount the Secret as a volume and read the file instead of env[].valueFrom.secretKeyRef / envFrom.secretRef.",
	"targets": ["workload"],
	"cis": ["5.4.1"],
	"nsa": ["Network separation and hardening: secrets"],
	"pss": "",
}

deny contains {"msg": sprintf("container %q reads secret %q into env %s", [x.c.name, e.valueFrom.secretKeyRef.name, e.name]), "path": sprintf("%s.env[%d].valueFrom.secretKeyRef", [x.path, i])} if {
	some x in lib.containers
	some i, e in x.c.env
	e.valueFrom.secretKeyRef
}

deny contains {"msg": sprintf("container %q loads secret %q into its environment", [x.c.name, e.secretRef.name]), "path": sprintf("%s.envFrom[%d].secretRef", [x.path, i])} if {
	some x in lib.containers
	some i, e in x.c.envFrom
	e.secretRef
}
