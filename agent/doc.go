// Package agent is the daemon on every machine: it joins the cluster,
// receives its assignment set from the masters, runs each assigned replica
// through the container runtime in its own network namespace, restarts
// failures with exponential backoff, reports what it observes, and serves
// its replicas' logs to the masters.
//
// The agent owns its machine: cut off from every master it keeps running and
// restarting what it was last told to run (the set is saved on disk), and a
// restarted agent adopts the containers that are still running instead of
// recreating them. It never writes cluster state except by reporting status.
//
// Inside, Agent only wires parts that do not know it: dataDir (the files
// kept across restarts), masterConn (the agent channel), replicaSet (a
// replicaWorker per replica), reporter (status reports, the heartbeat),
// nodeDNS and server (the logs and exec endpoint). A worker sees nothing of
// the agent but its workerEnv: the runtime, the replica network, the
// replica's files, the status reporter, a logger and the clock.
package agent
