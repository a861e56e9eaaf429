package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/workflows"
)

// updateReply asks the session's workflow to take a reply and waits for its
// answer. The update id is derived from the client id, so a retried request
// is the same update to Temporal too.
func (s *Server) updateReply(c *gin.Context, sess dbsqlc.Session, in workflows.ReplyInput) (workflows.ReplyResult, error) {
	h, err := s.Temporal.UpdateWorkflow(c, client.UpdateWorkflowOptions{
		WorkflowID:   sess.WorkflowID,
		UpdateID:     "reply/" + in.SessionID + "/" + in.ClientID,
		UpdateName:   workflows.UpdateReply,
		Args:         []any{in},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var res workflows.ReplyResult
	if err == nil {
		err = h.Get(c, &res)
	}
	if err != nil {
		return res, updateProblem(err)
	}
	return res, nil
}

// updateProblem maps a session workflow's refusal to the answer the client gets.
func updateProblem(err error) error {
	var ae *temporal.ApplicationError
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &ae):
		switch ae.Type() {
		case workflows.ErrSessionClosed:
			return conflict("the session is closed; reopen it to reply")
		case workflows.ErrOtherSession:
			return conflict("the contact has a newer session; reply there")
		case workflows.ErrWindowClosed:
			p := newProblem(http.StatusUnprocessableEntity, ae.Message())
			p.Type = problemTypeBase + "window-closed"
			p.Title = "Reply window closed"
			return p
		case workflows.ErrInvalidCommand:
			return newProblem(http.StatusUnprocessableEntity, ae.Message())
		}
	case errors.As(err, &nf):
		return conflict("the session is closed; reopen it to reply")
	}
	return temporalUnavailable(err)
}

// temporalUnavailable wraps a failure to reach Temporal: the client may retry.
func temporalUnavailable(err error) error {
	var unavailableErr *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	if errors.As(err, &unavailableErr) || errors.As(err, &deadline) {
		return unavailable("the workflow service is not answering; retry shortly")
	}
	return err
}

// startReopen starts a new run of the session's workflow that brings the
// closed session back. It fails with 409 when the contact's workflow runs
// already (a newer session opened meanwhile).
func (s *Server) startReopen(c *gin.Context, sess dbsqlc.Session, actor uuid.UUID) error {
	channelID, contactID := sess.ChannelID.String(), sess.ContactID.String()
	search := []temporal.SearchAttributeUpdate{
		workflows.SearchChannel.ValueSet(channelID),
		workflows.SearchPlatform.ValueSet(sess.Platform),
		workflows.SearchContact.ValueSet(contactID),
		workflows.SearchStatus.ValueSet(workflows.StatusAnswered),
	}
	_, err := s.Temporal.ExecuteWorkflow(c, client.StartWorkflowOptions{
		ID:                       sess.WorkflowID,
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		TypedSearchAttributes:    temporal.NewSearchAttributes(search...),
		StaticSummary:            "Reopened session " + sess.ID.String(),
	}, workflows.SessionWorkflowName, workflows.SessionInput{
		ChannelID: channelID,
		ContactID: contactID,
		Reopen:    &workflows.ReopenInput{SessionID: sess.ID.String(), ActorID: actor.String()},
	})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return conflict("the contact has a session open; reply there")
	}
	if err != nil {
		return temporalUnavailable(err)
	}
	return nil
}
