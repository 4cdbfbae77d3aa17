package loggen

// Sets returns the labelled log formats, each with its known templates.
func Sets() []*Set {
	return []*Set{HDFS(), Nginx(), Klog(), JSONApp(), Java(), Syslog(), Spark()}
}

// ByName returns the set with that name, or nil.
func ByName(name string) *Set {
	for _, s := range Sets() {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// HDFS mimics Hadoop DataNode/NameNode logs.
func HDFS() *Set {
	return &Set{Name: "hdfs", Templates: []Template{
		{"{hdfsts} {pid} INFO dfs.DataNode$PacketResponder: PacketResponder {small} for block {blk} terminating", 20},
		{"{hdfsts} {pid} INFO dfs.DataNode$PacketResponder: Received block {blk} of size {size} from /{ip}", 20},
		{"{hdfsts} {pid} INFO dfs.DataNode$DataXceiver: Receiving block {blk} src: /{ip}:{port} dest: /{ip}:{port}", 20},
		{"{hdfsts} {pid} INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: {ip}:{port} is added to {blk} size {size}", 18},
		{"{hdfsts} {pid} INFO dfs.FSNamesystem: BLOCK* NameSystem.allocateBlock: {hdfspath}. {blk}", 6},
		{"{hdfsts} {pid} INFO dfs.DataBlockScanner: Verification succeeded for {blk}", 5},
		{"{hdfsts} {pid} WARN dfs.DataNode$DataXceiver: {ip}:{port}:Got exception while serving {blk} to /{ip}:", 3},
		{"{hdfsts} {pid} INFO dfs.FSDataset: Deleting block {blk} file {datapath}", 6},
		{"{hdfsts} {pid} INFO dfs.DataNode$DataXceiver: {ip}:{port} Served block {blk} to /{ip}", 5},
		{"{hdfsts} {pid} INFO dfs.FSNamesystem: BLOCK* ask {ip}:{port} to replicate {blk} to datanode(s) {ip}:{port}", 2},
		{"{hdfsts} {pid} INFO dfs.FSNamesystem: BLOCK* NameSystem.delete: {blk} is added to invalidSet of {ip}:{port}", 6},
		{"{hdfsts} {pid} WARN dfs.DataNode$PacketResponder: IOException in BlockReceiver.run(): java.io.IOException: Connection reset by peer", 1},
		{"{hdfsts} {pid} INFO dfs.DataNode$BlockReceiver: Exception in receiveBlock for block {blk} java.io.EOFException", 1},
	}}
}

// Nginx mimics nginx access (combined format) and error logs.
func Nginx() *Set {
	return &Set{Name: "nginx", Templates: []Template{
		{`{ip} - - [{clfts}] "{method} {urlpath} HTTP/1.1" {status} {size} "{referer}" "{ua}"`, 80},
		{`{ngxts} [error] {pid}#{pid}: *{n} open() "{urlpath}" failed (2: No such file or directory), client: {ip}, server: {srv}, request: "{method} {urlpath} HTTP/1.1", host: "{srv}"`, 5},
		{`{ngxts} [error] {pid}#{pid}: *{n} upstream timed out (110: Connection timed out) while reading response header from upstream, client: {ip}, server: {srv}, request: "{method} {urlpath} HTTP/1.1", upstream: "http://{ip}:{port}{urlpath}", host: "{srv}"`, 4},
		{`{ngxts} [error] {pid}#{pid}: *{n} connect() failed (111: Connection refused) while connecting to upstream, client: {ip}, server: {srv}, request: "{method} {urlpath} HTTP/1.1", upstream: "http://{ip}:{port}{urlpath}", host: "{srv}"`, 3},
		{`{ngxts} [warn] {pid}#{pid}: *{n} an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/{small}/{n}/{n} while reading upstream, client: {ip}, server: {srv}, request: "{method} {urlpath} HTTP/1.1", upstream: "http://{ip}:{port}{urlpath}", host: "{srv}"`, 2},
		{`{ngxts} [notice] {pid}#{pid}: signal process started`, 1},
		{`{ngxts} [notice] {pid}#{pid}: using the "epoll" event method`, 1},
		{`{ngxts} [warn] {pid}#{pid}: *{n} a client request body is buffered to a temporary file /var/cache/nginx/client_temp/{n}, client: {ip}, server: {srv}, request: "{method} {urlpath} HTTP/1.1", host: "{srv}"`, 2},
	}}
}

// Klog mimics Kubernetes components' klog output, structured and not.
func Klog() *Set {
	return &Set{Name: "klog", Templates: []Template{
		{`I{klogts} {tid} controller.go:{line}] "Successfully synced" key="{ns}/{podname}"`, 20},
		{`I{klogts} {tid} event.go:{line}] "Event occurred" object="{ns}/{podname}" fieldPath="" kind="Pod" apiVersion="v1" type="Normal" reason="{reason}" message="{freetext}"`, 15},
		{`E{klogts} {tid} reflector.go:{line}] "Unhandled Error" err="k8s.io/client-go/informers/factory.go:160: Failed to watch *v1.{kind}: failed to list *v1.{kind}: Get \"https://{ip}:443/api/v1/{kindplural}?limit=500&resourceVersion=0\": dial tcp {ip}:443: connect: connection refused" logger="UnhandledError"`, 4},
		{`W{klogts} {tid} reflector.go:{line}] k8s.io/client-go/informers/factory.go:160: watch of *v1.{kind} ended with: an error on the server ("unable to decode an event from the watch stream: http2: client connection lost") has prevented the request from succeeding`, 3},
		{`I{klogts} {tid} leaderelection.go:{line}] successfully acquired lease {ns}/{leasename}`, 2},
		{`I{klogts} {tid} round_trippers.go:{line}] "Response" verb="{method}" url="https://{ip}:6443/api/v1/namespaces/{ns}/pods/{podname}" status="200 OK" milliseconds={small}`, 10},
		{`E{klogts} {tid} pod_workers.go:{line}] "Error syncing pod, skipping" err="failed to \"StartContainer\" for \"{container}\" with CrashLoopBackOff: \"back-off {dur} restarting failed container={container} pod={podname}_{ns}({uid})\"" pod="{ns}/{podname}" podUID="{uid}"`, 5},
		{`I{klogts} {tid} kubelet.go:{line}] "SyncLoop ADD" source="api" pods=[{podlist}]`, 6},
		{`I{klogts} {tid} kuberuntime_manager.go:{line}] "Message for Container of pod" containerName="{container}" containerStatusID={"containerd" "{uid}"} pod="{ns}/{podname}" containerMessage="Container {container} failed liveness probe, will be restarted"`, 3},
		{`I{klogts} {tid} trace.go:{line}] Trace[{n}]: "List" accept:application/json, */* audit-id:{uid} client:{ip} protocol:HTTP/2.0 resource:{kindplural} scope:cluster url:/api/v1/{kindplural} user-agent:kubectl/v1.31.0 verb:LIST (26-Nov-2026 08:00:00.000) (total time: {n}ms):`, 2},
	}}
}

// JSONApp mimics structured JSON application logs (zap style).
func JSONApp() *Set {
	return &Set{Name: "json", Templates: []Template{
		{`{"level":"info","ts":"{iso}","caller":"server/http.go:{line}","msg":"request completed","method":"{method}","path":"{urlpath}","status":{status},"duration_ms":{float},"request_id":"{uuid}"}`, 40},
		{`{"level":"info","ts":"{iso}","caller":"auth/login.go:{line}","msg":"user logged in","user":"{user}","ip":"{ip}"}`, 10},
		{`{"level":"warn","ts":"{iso}","caller":"cache/redis.go:{line}","msg":"cache miss","key":"{cachekey}","ttl":"{dur}"}`, 10},
		{`{"level":"error","ts":"{iso}","caller":"db/pool.go:{line}","msg":"query failed","error":"{errtext}","query":"{sql}","attempt":{small}}`, 5},
		{`{"level":"info","ts":"{iso}","caller":"worker/job.go:{line}","msg":"job finished","job":"{jobname}","items":{n},"tags":[{taglist}]}`, 6},
		{`{"level":"debug","ts":"{iso}","caller":"grpc/client.go:{line}","msg":"rpc call {rpcname} took {dur}"}`, 10},
		{`{"level":"info","ts":"{iso}","caller":"main.go:{line}","msg":"shutting down","signal":"SIGTERM"}`, 1},
		{`{"level":"error","ts":"{iso}","caller":"auth/login.go:{line}","msg":"login failed for user {user}: invalid password","ip":"{ip}"}`, 4},
	}}
}

// Java mimics a Spring application's logback output including stack traces.
func Java() *Set {
	return &Set{Name: "java", Templates: []Template{
		{"{javats} INFO  [{thread}] c.e.shop.OrderService - Order {n} created for customer {user} total {amount} EUR", 20},
		{"{javats} WARN  [{thread}] c.e.shop.PaymentClient - Payment provider responded slowly: {dur}", 6},
		{"{javats} ERROR [{thread}] c.e.shop.OrderService - Failed to process order {n}", 4},
		{"java.lang.IllegalStateException: Order {n} is in state {state}", 4},
		{"\tat {frame}", 40},
		{"Caused by: java.net.SocketTimeoutException: Read timed out", 2},
		{"\t... {n} more", 4},
		{"{javats} INFO  [main] c.e.shop.Application - Started Application in {float} seconds (process running for {float})", 1},
		{"{javats} DEBUG [{thread}] org.hibernate.SQL - select o.id, o.status from orders o where o.customer_id=? and o.created_at>?", 8},
		{"{javats} INFO  [{thread}] c.e.shop.CartController - Cart {uuid} checked out by {user} with {small} items", 8},
	}}
}

// Syslog mimics OpenSSH and other Linux syslog lines.
func Syslog() *Set {
	return &Set{Name: "syslog", Templates: []Template{
		{"{systs} {host} sshd[{pid}]: Accepted publickey for {user} from {ip} port {port} ssh2: RSA SHA256:{b64}", 10},
		{"{systs} {host} sshd[{pid}]: Failed password for {user} from {ip} port {port} ssh2", 15},
		{"{systs} {host} sshd[{pid}]: Failed password for invalid user {user} from {ip} port {port} ssh2", 10},
		{"{systs} {host} sshd[{pid}]: Invalid user {user} from {ip} port {port}", 10},
		{"{systs} {host} sshd[{pid}]: pam_unix(sshd:session): session opened for user {user}(uid={n}) by (uid=0)", 8},
		{"{systs} {host} sshd[{pid}]: Connection closed by authenticating user {user} {ip} port {port} [preauth]", 8},
		{"{systs} {host} sshd[{pid}]: Received disconnect from {ip} port {port}:11: disconnected by user", 6},
		{"{systs} {host} systemd[1]: Started Session {n} of User {user}.", 5},
		{"{systs} {host} CRON[{pid}]: pam_unix(cron:session): session closed for user root", 5},
		{"{systs} {host} kernel: [{uptime}] Out of memory: Killed process {pid} ({proc}) total-vm:{size}kB, anon-rss:{size}kB, file-rss:0kB, shmem-rss:0kB, UID:{n} pgtables:{n}kB oom_score_adj:{small}", 2},
		{"{systs} {host} kernel: [{uptime}] {iface}: link becomes ready", 2},
	}}
}

// Spark mimics Spark executor logs.
func Spark() *Set {
	return &Set{Name: "spark", Templates: []Template{
		{"{sparkts} INFO storage.BlockManagerInfo: Added broadcast_{n}_piece0 in memory on {sparkhost}:{port} (size: {float} KB, free: {float} MB)", 8},
		{"{sparkts} INFO executor.Executor: Running task {f} in stage {f} (TID {n})", 20},
		{"{sparkts} INFO executor.Executor: Finished task {f} in stage {f} (TID {n}). {n} bytes result sent to driver", 20},
		{"{sparkts} INFO spark.MapOutputTrackerWorker: Got the output locations", 4},
		{"{sparkts} INFO storage.MemoryStore: Block rdd_{n}_{n} stored as values in memory (estimated size {float} KB, free {float} MB)", 8},
		{"{sparkts} INFO spark.CacheManager: Partition rdd_{n}_{n} not found, computing it", 8},
		{"{sparkts} INFO executor.CoarseGrainedExecutorBackend: Got assigned task {n}", 20},
		{"{sparkts} WARN scheduler.TaskSetManager: Lost task {f} in stage {f} (TID {n}, {sparkhost}): java.io.IOException: Failed to connect to {sparkhost}:{port}", 2},
		{"{sparkts} INFO python.PythonRunner: Times: total = {n}, boot = {n}, init = {n}, finish = {n}", 6},
		{"{sparkts} ERROR executor.Executor: Exception in task {f} in stage {f} (TID {n})", 1},
		{"{sparkts} INFO mapred.SparkHadoopMapRedUtil: {attempt}: Committed", 3},
		{"{sparkts} INFO spark.SecurityManager: Changing view acls to: {user}", 1},
	}}
}
