package apiserver

import (
	"net/http"
	"strconv"
	"time"

	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

var jobParam = endpoint.Path("name", "the job's name")

// Jobs and cron jobs are stored beside services (one name is one or the
// other) and shown in the same flat form, with their progress in
// status.job (docs/jobs.md).
func (s *Server) jobRoutes() []endpoint.Route {
	return []endpoint.Route{
		{Pattern: "PUT /v1/namespaces/{ns}/jobs/{name}", Role: auth.RoleAdmin, Handler: s.putJob,
			Summary: "Create a job or cron job (kind: Job); putting the same job again changes nothing, another spec for a job is 409 (a cron job's may change)",
			Params:  []endpoint.Param{nsParam, jobParam, ifMatchParam}, In: manifestBody,
			Out: endpoint.Body{Types: serviceBody.Types, Schema: serviceBody.Schema, Created: true,
				Doc: "the job as stored, its progress in status.job: 200 when it existed, 201 when it is new"}},
		{Pattern: "GET /v1/namespaces/{ns}/jobs/{name}", Role: auth.RoleReader, Handler: s.getJob,
			Summary: "Read a job: its spec and status.job (state running, succeeded or failed; succeeded, failed and active runs)",
			Params:  []endpoint.Param{nsParam, jobParam, staleParam}, Out: serviceBody},
		{Pattern: "GET /v1/namespaces/{ns}/jobs", Role: auth.RoleReader, Handler: s.listJobs,
			Summary: "List the jobs and cron jobs of a namespace",
			Params:  []endpoint.Param{nsParam, staleParam}, Out: endpoint.JSONList(&orchpb.Service{})},
		{Pattern: "GET /v1/jobs", Role: auth.RoleReader, Handler: s.listJobs,
			Summary: "List the jobs and cron jobs of every namespace",
			Params:  []endpoint.Param{staleParam}, Out: endpoint.JSONList(&orchpb.Service{})},
		{Pattern: "DELETE /v1/namespaces/{ns}/jobs/{name}", Role: auth.RoleAdmin, Handler: s.deleteJob,
			Summary: "Delete a job (its runs are stopped and removed, logs included) or a cron job with its jobs",
			Params:  []endpoint.Param{nsParam, jobParam, ifMatchParam},
			Out:     endpoint.JSON(deleted{})},
	}
}

func (s *Server) putJob(w http.ResponseWriter, r *http.Request) {
	spec, version, ok := s.readSpec(w, r)
	if !ok {
		return
	}
	if !spec.IsJob() {
		writeError(w, endpoint.BadRequest("kind", "kind: the jobs API takes kind: Job, not "+strconv.Quote(spec.GetKind())))
		return
	}
	// The job's clock starts here: its deadline counts from this time.
	put := &orchpb.PutJob{Spec: spec, IfMatch: version, StartedAt: time.Now().UnixMilli()}
	s.putAndAnswer(w, r, spec, &orchpb.Command{Op: &orchpb.Command_PutJob{PutJob: put}}, s.writeJob)
}

func (s *Server) writeJob(w http.ResponseWriter, status int, ns, name string) {
	s.writeStored(w, status, ns, name, true)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) { s.getStored(w, r, true) }

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) { s.listStored(w, r, true) }

func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	if !s.deps.Store.Service(ns, name).GetSpec().IsJob() {
		writeError(w, endpoint.NotFound("job "+ns+"/"+name+" not found"))
		return
	}
	s.proposeDelete(w, r, ns, name)
}

// withJobStatus shows a job's progress: what the FSM counted (Service.job)
// and how many of its runs have not ended, counted on read.
func withJobStatus(st *store.Store, job *orchpb.Service) *orchpb.Service {
	spec := job.GetSpec()
	status := &orchpb.ServiceStatus{Job: &orchpb.JobStatus{}}
	if job.GetJob() != nil {
		status.Job = proto.Clone(job.GetJob()).(*orchpb.JobStatus)
	}
	for _, rep := range st.Replicas(store.ReplicaFilter{Namespace: spec.GetNamespace(), Service: spec.GetName()}) {
		if ended, _ := rep.RunEnded(); ended || rep.Desired() != orchpb.DesiredRunning {
			continue
		}
		status.Job.Active++
		if rep.Observed() == orchpb.ReplicaRunning {
			status.Running++
		}
	}
	status.Message = status.Job.GetMessage()
	c := store.CopyService(job)
	c.Status = status
	return c
}
