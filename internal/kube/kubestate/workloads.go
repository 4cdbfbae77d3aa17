package kubestate

import (
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	netv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Series below keep kube-state-metrics' names and label names.

func replicasOr1(r *int32) float64 {
	if r == nil {
		return 1 // the API server's default
	}
	return float64(*r)
}

func (e *emitter) statefulset(s *appsv1.StatefulSet) {
	kv := []string{"namespace", s.Namespace, "statefulset", s.Name}
	e.add("kube_statefulset_replicas", replicasOr1(s.Spec.Replicas), kv...)
	e.add("kube_statefulset_status_replicas", float64(s.Status.Replicas), kv...)
	e.add("kube_statefulset_status_replicas_ready", float64(s.Status.ReadyReplicas), kv...)
	e.add("kube_statefulset_status_replicas_available", float64(s.Status.AvailableReplicas), kv...)
	e.add("kube_statefulset_status_replicas_current", float64(s.Status.CurrentReplicas), kv...)
	e.add("kube_statefulset_status_replicas_updated", float64(s.Status.UpdatedReplicas), kv...)
}

func (e *emitter) daemonset(d *appsv1.DaemonSet) {
	kv := []string{"namespace", d.Namespace, "daemonset", d.Name}
	st := d.Status
	e.add("kube_daemonset_status_desired_number_scheduled", float64(st.DesiredNumberScheduled), kv...)
	e.add("kube_daemonset_status_current_number_scheduled", float64(st.CurrentNumberScheduled), kv...)
	e.add("kube_daemonset_status_number_ready", float64(st.NumberReady), kv...)
	e.add("kube_daemonset_status_number_available", float64(st.NumberAvailable), kv...)
	e.add("kube_daemonset_status_number_unavailable", float64(st.NumberUnavailable), kv...)
	e.add("kube_daemonset_status_number_misscheduled", float64(st.NumberMisscheduled), kv...)
	e.add("kube_daemonset_status_updated_number_scheduled", float64(st.UpdatedNumberScheduled), kv...)
}

func (e *emitter) replicaset(r *appsv1.ReplicaSet) {
	kv := []string{"namespace", r.Namespace, "replicaset", r.Name}
	e.add("kube_replicaset_spec_replicas", replicasOr1(r.Spec.Replicas), kv...)
	e.add("kube_replicaset_status_replicas", float64(r.Status.Replicas), kv...)
	e.add("kube_replicaset_status_ready_replicas", float64(r.Status.ReadyReplicas), kv...)
	e.owner("kube_replicaset_owner", r.OwnerReferences, kv...)
}

func (e *emitter) owner(name string, refs []metav1.OwnerReference, kv ...string) {
	kind, owner, ctl := "<none>", "<none>", "<none>"
	for _, o := range refs {
		kind, owner = o.Kind, o.Name
		ctl = strconv.FormatBool(o.Controller != nil && *o.Controller)
		if ctl == "true" {
			break
		}
	}
	e.add(name, 1, append(kv, "owner_kind", kind, "owner_name", owner, "owner_is_controller", ctl)...)
}

func (e *emitter) job(j *batchv1.Job) {
	kv := []string{"namespace", j.Namespace, "job_name", j.Name}
	completions := 1.0
	if j.Spec.Completions != nil {
		completions = float64(*j.Spec.Completions)
	}
	e.add("kube_job_spec_completions", completions, kv...)
	e.add("kube_job_status_active", float64(j.Status.Active), kv...)
	e.add("kube_job_status_succeeded", float64(j.Status.Succeeded), kv...)
	e.add("kube_job_status_failed", float64(j.Status.Failed), kv...)
	for _, c := range j.Status.Conditions {
		var name string
		switch c.Type {
		case batchv1.JobComplete:
			name = "kube_job_complete"
		case batchv1.JobFailed:
			name = "kube_job_failed"
		default:
			continue
		}
		for _, st := range []corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown} {
			e.add(name, boolVal(c.Status == st), append(kv, "condition", strings.ToLower(string(st)))...)
		}
	}
	e.owner("kube_job_owner", j.OwnerReferences, kv...)
}

func (e *emitter) cronjob(c *batchv1.CronJob) {
	kv := []string{"namespace", c.Namespace, "cronjob", c.Name}
	e.add("kube_cronjob_info", 1, append(kv, "schedule", c.Spec.Schedule,
		"concurrency_policy", string(c.Spec.ConcurrencyPolicy))...)
	e.add("kube_cronjob_spec_suspend", boolVal(c.Spec.Suspend != nil && *c.Spec.Suspend), kv...)
	e.add("kube_cronjob_status_active", float64(len(c.Status.Active)), kv...)
	if t := c.Status.LastScheduleTime; t != nil {
		e.add("kube_cronjob_status_last_schedule_time", float64(t.Unix()), kv...)
	}
	if t := c.Status.LastSuccessfulTime; t != nil {
		e.add("kube_cronjob_status_last_successful_time", float64(t.Unix()), kv...)
	}
}

func (e *emitter) service(s *corev1.Service) {
	kv := []string{"namespace", s.Namespace, "service", s.Name}
	var lbIP string
	if len(s.Status.LoadBalancer.Ingress) > 0 {
		lbIP = s.Status.LoadBalancer.Ingress[0].IP
	}
	e.add("kube_service_info", 1, append(kv, "cluster_ip", s.Spec.ClusterIP,
		"external_name", s.Spec.ExternalName, "load_balancer_ip", lbIP)...)
	e.add("kube_service_spec_type", 1, append(kv, "type", string(s.Spec.Type))...)
}

func (e *emitter) ingress(in *netv1.Ingress) {
	kv := []string{"namespace", in.Namespace, "ingress", in.Name}
	class := ""
	if in.Spec.IngressClassName != nil {
		class = *in.Spec.IngressClassName
	}
	e.add("kube_ingress_info", 1, append(kv, "ingressclass", class)...)
	for _, r := range in.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Backend.Service == nil {
				continue
			}
			port := p.Backend.Service.Port.Name
			if port == "" {
				port = strconv.Itoa(int(p.Backend.Service.Port.Number))
			}
			e.add("kube_ingress_path", 1, append(kv, "host", r.Host, "path", p.Path,
				"service_name", p.Backend.Service.Name, "service_port", port)...)
		}
	}
}

var pvcPhases = []corev1.PersistentVolumeClaimPhase{corev1.ClaimLost, corev1.ClaimBound, corev1.ClaimPending}

func (e *emitter) pvc(p *corev1.PersistentVolumeClaim) {
	kv := []string{"namespace", p.Namespace, "persistentvolumeclaim", p.Name}
	class := ""
	if p.Spec.StorageClassName != nil {
		class = *p.Spec.StorageClassName
	}
	e.add("kube_persistentvolumeclaim_info", 1, append(kv, "storageclass", class, "volumename", p.Spec.VolumeName)...)
	for _, ph := range pvcPhases {
		e.add("kube_persistentvolumeclaim_status_phase", boolVal(p.Status.Phase == ph), append(kv, "phase", string(ph))...)
	}
	if q, ok := p.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		e.add("kube_persistentvolumeclaim_resource_requests_storage_bytes", q.AsApproximateFloat64(), kv...)
	}
}

// podContainers adds per-container state, resources and image series.
func (e *emitter) podContainers(p *corev1.Pod) {
	ns, name, uid := p.Namespace, p.Name, string(p.UID)
	for _, c := range p.Spec.Containers {
		for _, pair := range []struct {
			metric string
			list   corev1.ResourceList
		}{{"kube_pod_container_resource_requests", c.Resources.Requests}, {"kube_pod_container_resource_limits", c.Resources.Limits}} {
			for _, rn := range sortedResourceNames(pair.list) {
				q := pair.list[rn]
				res, unit, v := resourceValue(rn, q.AsApproximateFloat64(), q.MilliValue())
				e.add(pair.metric, v, "namespace", ns, "pod", name, "uid", uid, "container", c.Name,
					"node", p.Spec.NodeName, "resource", res, "unit", unit)
			}
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		kv := []string{"namespace", ns, "pod", name, "uid", uid, "container", cs.Name}
		e.add("kube_pod_container_info", 1, append(kv, "image", cs.Image, "image_id", cs.ImageID, "container_id", cs.ContainerID)...)
		e.add("kube_pod_container_status_running", boolVal(cs.State.Running != nil), kv...)
		e.add("kube_pod_container_status_waiting", boolVal(cs.State.Waiting != nil), kv...)
		e.add("kube_pod_container_status_terminated", boolVal(cs.State.Terminated != nil), kv...)
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			e.add("kube_pod_container_status_waiting_reason", 1, append(kv, "reason", w.Reason)...)
		}
		if t := cs.State.Terminated; t != nil && t.Reason != "" {
			e.add("kube_pod_container_status_terminated_reason", 1, append(kv, "reason", t.Reason)...)
		}
		if t := cs.LastTerminationState.Terminated; t != nil && t.Reason != "" {
			e.add("kube_pod_container_status_last_terminated_reason", 1, append(kv, "reason", t.Reason)...)
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type != corev1.PodReady {
			continue
		}
		for _, st := range []corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown} {
			e.add("kube_pod_status_ready", boolVal(c.Status == st), "namespace", ns, "pod", name, "uid", uid,
				"condition", strings.ToLower(string(st)))
		}
	}
	e.owner("kube_pod_owner", p.OwnerReferences, "namespace", ns, "pod", name, "uid", uid)
}
