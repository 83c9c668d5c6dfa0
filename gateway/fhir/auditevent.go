package fhir

// AuditEvent is the FHIR R4 AuditEvent, with the elements HL7 Norway's
// trust-framework AuditEvent profile and IHE BALP use (gateway/audit
// renders its records as these).
type AuditEvent struct {
	ResourceType   string             `json:"resourceType"`
	ID             string             `json:"id,omitempty"`
	Meta           *Meta              `json:"meta,omitempty"`
	Contained      []Resource         `json:"contained,omitempty"`
	Extension      []Extension        `json:"extension,omitempty"`
	Type           Coding             `json:"type"`
	Subtype        []Coding           `json:"subtype,omitempty"`
	Action         string             `json:"action,omitempty"`
	Recorded       string             `json:"recorded"`
	Outcome        string             `json:"outcome,omitempty"`
	OutcomeDesc    string             `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []CodeableConcept  `json:"purposeOfEvent,omitempty"`
	Agent          []AuditEventAgent  `json:"agent"`
	Source         AuditEventSource   `json:"source"`
	Entity         []AuditEventEntity `json:"entity,omitempty"`
}

// AuditEventAgent is AuditEvent.agent: who took part.
type AuditEventAgent struct {
	Type      *CodeableConcept   `json:"type,omitempty"`
	Who       *Reference         `json:"who,omitempty"`
	Name      string             `json:"name,omitempty"`
	Requestor bool               `json:"requestor"`
	Network   *AuditEventNetwork `json:"network,omitempty"`
}

// AuditEventNetwork is AuditEvent.agent.network.
type AuditEventNetwork struct {
	Address string `json:"address,omitempty"`
	Type    string `json:"type,omitempty"`
}

// AuditEventSource is AuditEvent.source: the system that recorded it.
type AuditEventSource struct {
	Site     string     `json:"site,omitempty"`
	Observer *Reference `json:"observer,omitempty"`
	Type     []Coding   `json:"type,omitempty"`
}

// AuditEventEntity is AuditEvent.entity: what was used.
type AuditEventEntity struct {
	What        *Reference         `json:"what,omitempty"`
	Type        *Coding            `json:"type,omitempty"`
	Role        *Coding            `json:"role,omitempty"`
	Name        string             `json:"name,omitempty"`
	Description string             `json:"description,omitempty"`
	Query       string             `json:"query,omitempty"` // base64Binary
	Detail      []AuditEventDetail `json:"detail,omitempty"`
}

// AuditEventDetail is AuditEvent.entity.detail.
type AuditEventDetail struct {
	Type        string `json:"type"`
	ValueString string `json:"valueString,omitempty"`
}
