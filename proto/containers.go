package orchpb

// ContainerState is what an agent observed of one sidecar or init
// container of a replica (ContainerStatus.state).
type ContainerState string

// Container states.
const (
	ContainerWaiting   ContainerState = "waiting"
	ContainerRunning   ContainerState = "running"
	ContainerCompleted ContainerState = "completed"
	ContainerFailed    ContainerState = "failed"
	ContainerStopped   ContainerState = "stopped"
)

// Container kinds (ContainerStatus.kind).
const (
	ContainerKindInit    = "init"
	ContainerKindSidecar = "sidecar"
)

// Observed returns the container's state.
func (s *ContainerStatus) Observed() ContainerState { return ContainerState(s.GetState()) }

// SetObserved sets the container's state.
func (s *ContainerStatus) SetObserved(st ContainerState) { s.State = string(st) }

// MainContainerName is the name of a replica's main container, which
// `orchctl logs` and `exec` pick unless told otherwise: the service's name.
func (s *ServiceSpec) MainContainerName() string { return s.GetName() }

// HasExtraContainers says whether a replica of s runs more than its main
// container.
func (s *ServiceSpec) HasExtraContainers() bool {
	return len(s.GetSidecars()) > 0 || len(s.GetInit()) > 0
}
