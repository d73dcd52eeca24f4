package main

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigateway"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Content types the webhook accepts: project webhooks are JSON, repository webhooks a form.
const (
	contentTypeJSON = "application/json"
	contentTypeForm = "application/x-www-form-urlencoded"
)

// webhookModelName names the JSON schema JSON bodies are validated against; API Gateway model names are
// alphanumeric, so it is set rather than left to Pulumi's auto-naming.
const webhookModelName = "BacklogWebhook"

// webhookSchema accepts any JSON object. Refusing what is not an object (or not JSON at all) with 400
// keeps such bodies away from the request template, whose $input.path would fail on them with a 500.
// Objects that are not Backlog-shaped are queued: the handler rejects them and records why.
var webhookSchema = mustJSON(map[string]any{
	"$schema":     "http://json-schema.org/draft-04/schema#",
	"title":       webhookModelName,
	"description": "A Backlog project webhook, or a repository webhook posted as JSON",
	"type":        "object",
})

// gatewayResponse is an answer API Gateway gives without reaching SQS. Its body is JSON
// {"error": "<reason>"}, as the local server answers; API Gateway fills in $context variables in it
// (it is not a Velocity template).
type gatewayResponse struct {
	Type   string // API Gateway response type
	Status string // empty keeps the status API Gateway chose
	Body   string
}

// gatewayResponses lists the gateway responses the API customises.
var gatewayResponses = []gatewayResponse{
	// The request validator refused a JSON body: not JSON, or not an object. validationErrorString
	// comes JSON-escaped, message is a fixed text.
	{Type: "BAD_REQUEST_BODY", Status: "400",
		Body: `{"error":"malformed body: $context.error.message $context.error.validationErrorString"}`},
	// A wrong token and an unknown path cannot be told apart, and neither can be named: the answer
	// says where webhooks go without the token.
	{Type: "MISSING_AUTHENTICATION_TOKEN", Status: "404",
		Body: `{"error":"not found: webhooks are accepted by POST at /` + stageName + "/" + hookPath + `/<token>"}`},
	{Type: "UNSUPPORTED_MEDIA_TYPE", Status: "415",
		Body: `{"error":"unsupported media type: send ` + contentTypeJSON + ` (project webhook) or ` +
			contentTypeForm + ` (repository webhook)"}`},
	// Bodies past API Gateway's own 10 MB limit. Those between 1 MiB and 10 MB are refused by SQS and
	// answered by the queue-refused integration response in the same words.
	{Type: "REQUEST_TOO_LARGE", Status: "413", Body: `{"error":"body too large: the limit is 1 MiB"}`},
	// The source address allowlist (allowedSourceIps) refused the caller.
	{Type: "ACCESS_DENIED", Status: "403",
		Body: `{"error":"forbidden: webhooks are accepted only from the allowed source addresses"}`},
	// Everything else (throttling, integration failures) keeps its status and API Gateway's message.
	{Type: "DEFAULT_4XX", Body: `{"error":$context.error.messageString}`},
	{Type: "DEFAULT_5XX", Body: `{"error":$context.error.messageString}`},
}

// bodyValidation is the request validator and model a method needs to refuse bad JSON bodies.
type bodyValidation struct {
	Validator *apigateway.RequestValidator
	Model     *apigateway.Model
}

// newBodyValidation creates a validator that checks request bodies only, and the model for JSON bodies.
func newBodyValidation(ctx *pulumi.Context, api *apigateway.RestApi, opts ...pulumi.ResourceOption) (
	bodyValidation, error) {
	validator, err := apigateway.NewRequestValidator(ctx, "hook-body", &apigateway.RequestValidatorArgs{
		RestApi:                   api.ID(),
		Name:                      pulumi.String("body"),
		ValidateRequestBody:       pulumi.Bool(true),
		ValidateRequestParameters: pulumi.Bool(false),
	}, opts...)
	if err != nil {
		return bodyValidation{}, err
	}
	model, err := apigateway.NewModel(ctx, "hook-webhook", &apigateway.ModelArgs{
		RestApi:     api.ID(),
		Name:        pulumi.String(webhookModelName),
		Description: pulumi.String("Any JSON object; the handler checks the rest"),
		ContentType: pulumi.String(contentTypeJSON),
		Schema:      pulumi.String(webhookSchema),
	}, opts...)
	if err != nil {
		return bodyValidation{}, err
	}
	return bodyValidation{Validator: validator, Model: model}, nil
}

// newGatewayResponses customises gatewayResponses on api. It returns what a deployment waits for.
func newGatewayResponses(ctx *pulumi.Context, api *apigateway.RestApi, opts ...pulumi.ResourceOption) (
	[]pulumi.Resource, error) {
	var out []pulumi.Resource
	for _, g := range gatewayResponses {
		args := &apigateway.ResponseArgs{
			RestApiId:         api.ID(),
			ResponseType:      pulumi.String(g.Type),
			ResponseTemplates: pulumi.StringMap{contentTypeJSON: pulumi.String(g.Body)},
		}
		if g.Status != "" {
			args.StatusCode = pulumi.String(g.Status)
		}
		r, err := apigateway.NewResponse(ctx, "gw-"+g.Type, args, opts...)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
