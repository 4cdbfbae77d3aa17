package vigil.controls.default_sa_automount

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-301",
	"title": "Default service accounts should not automount tokens",
	"severity": "low",
	"rationale": "Pods that do not need the API still get a token unless the service account turns automounting off.",
	"remediation": "Set automountServiceAccountToken: false on each namespace's default ServiceAccount.",
	"targets": ["serviceaccount"],
	"cis": ["5.1.5"],
	"nsa": ["Pod security: protecting pod service account tokens"],
	"pss": "",
}

deny contains {"msg": sprintf("default service account of %s automounts its token", [input.metadata.namespace]), "path": "automountServiceAccountToken"} if {
	input.metadata.name == "default"
	not input.metadata.namespace in lib.system_namespaces
	object.get(input.object, "automountServiceAccountToken", true) != false
}
