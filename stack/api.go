package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigateway"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Fixed parts of the webhook URL: https://<api>.execute-api.<region>.amazonaws.com/v1/backlog-webhook/<token>.
const (
	stageName = "v1"
	hookPath  = "backlog-webhook"
)

// accessLogFormat is one JSON line per request. It leaves out the path, which holds the secret token.
var accessLogFormat = mustJSON(map[string]string{
	"requestId":          "$context.requestId",
	"time":               "$context.requestTime",
	"sourceIp":           "$context.identity.sourceIp",
	"userAgent":          "$context.identity.userAgent",
	"method":             "$context.httpMethod",
	"status":             "$context.status",
	"responseLength":     "$context.responseLength",
	"integrationStatus":  "$context.integration.status",
	"integrationLatency": "$context.integration.latency",
	"error":              "$context.error.message",
})

// webhookAPI is the REST API and the URL Backlog posts to.
type webhookAPI struct {
	API *apigateway.RestApi
	URL pulumi.StringOutput // secret: it holds the token
}

// newAPI creates the regional REST API with the single route POST /backlog-webhook/<token>, integrated
// straight with SQS SendMessage through a role that may only send to q.
func newAPI(ctx *pulumi.Context, cfg Config, q queues) (webhookAPI, error) {
	api, err := apigateway.NewRestApi(ctx, "webhook", &apigateway.RestApiArgs{
		Description: pulumi.String("Receives Backlog webhooks and queues them for the archiver"),
		EndpointConfiguration: &apigateway.RestApiEndpointConfigurationArgs{
			Types: pulumi.String("REGIONAL"),
		},
	})
	if err != nil {
		return webhookAPI{}, err
	}
	child := pulumi.Parent(api)

	role, err := iam.NewRole(ctx, "webhook-sqs", &iam.RoleArgs{
		Description:      pulumi.String("Lets the webhook API send to its queue"),
		AssumeRolePolicy: assumeRolePolicy("apigateway.amazonaws.com"),
	}, child)
	if err != nil {
		return webhookAPI{}, err
	}
	sendPolicy, err := iam.NewRolePolicy(ctx, "webhook-sqs", &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: policyJSON(allow("SendDeliveries", []string{"sqs:SendMessage"}, q.Main.Arn)),
	}, pulumi.Parent(role))
	if err != nil {
		return webhookAPI{}, err
	}

	base, err := apigateway.NewResource(ctx, "hook", &apigateway.ResourceArgs{
		RestApi:  api.ID(),
		ParentId: api.RootResourceId,
		PathPart: pulumi.String(hookPath),
	}, child)
	if err != nil {
		return webhookAPI{}, err
	}
	token := pulumi.ToSecret(pulumi.String(cfg.WebhookToken)).(pulumi.StringOutput)
	tokenRes, err := apigateway.NewResource(ctx, "hook-token", &apigateway.ResourceArgs{
		RestApi:  api.ID(),
		ParentId: base.ID(),
		PathPart: token,
	}, child, pulumi.AdditionalSecretOutputs([]string{"path", "pathPart"}))
	if err != nil {
		return webhookAPI{}, err
	}

	route, err := newRoute(ctx, api, tokenRes, role, q, child)
	if err != nil {
		return webhookAPI{}, err
	}
	answers, err := newGatewayResponses(ctx, api, child)
	if err != nil {
		return webhookAPI{}, err
	}
	deps := append(append(route, answers...), sendPolicy)

	if len(cfg.AllowedIPs) > 0 {
		pol, err := apigateway.NewRestApiPolicy(ctx, "webhook", &apigateway.RestApiPolicyArgs{
			RestApiId: api.ID(),
			Policy:    allowlistPolicy(api, cfg.AllowedIPs),
		}, child)
		if err != nil {
			return webhookAPI{}, err
		}
		deps = append(deps, pol)
	}

	stage, err := newStage(ctx, cfg, api, deps, child)
	if err != nil {
		return webhookAPI{}, err
	}
	url := pulumi.Sprintf("%s/%s/%s", stage.InvokeUrl, hookPath, token)
	return webhookAPI{API: api, URL: pulumi.ToSecret(url).(pulumi.StringOutput)}, nil
}

// integrationAnswers are the answers of the SQS integration, chosen by the status SQS answered with.
// SQS answers 400 both for messages it refuses and for faults of this stack; the queue-refused template
// tells them apart and overrides the status (413 or 500) where needed, so 413 is a method response too.
// An answer without Body is a method response only, for a status a template sets.
var integrationAnswers = []struct{ Code, Pattern, Body string }{
	{Code: "200", Pattern: "", Body: queuedResponse},
	{Code: "400", Pattern: "400", Body: queueRefusedTemplate()},
	{Code: "413"},
	{Code: "500", Pattern: `4(0[1-9]|[1-9]\d)|5\d\d`, Body: failedResponse},
}

// newRoute adds POST with its body validation, SQS integration and responses to res. It returns what a
// deployment waits for.
func newRoute(ctx *pulumi.Context, api *apigateway.RestApi, res *apigateway.Resource, role *iam.Role, q queues,
	opts ...pulumi.ResourceOption) ([]pulumi.Resource, error) {
	valid, err := newBodyValidation(ctx, api, opts...)
	if err != nil {
		return nil, err
	}
	method, err := apigateway.NewMethod(ctx, "hook-post", &apigateway.MethodArgs{
		RestApi:            api.ID(),
		ResourceId:         res.ID(),
		HttpMethod:         pulumi.String("POST"),
		Authorization:      pulumi.String("NONE"),
		RequestValidatorId: valid.Validator.ID(),
		RequestModels:      pulumi.StringMap{contentTypeJSON: valid.Model.Name},
	}, opts...)
	if err != nil {
		return nil, err
	}

	// arn:aws:sqs:REGION:ACCOUNT:NAME becomes arn:aws:apigateway:REGION:sqs:path/ACCOUNT/NAME.
	uri := q.Main.Arn.ApplyT(func(arn string) string {
		p := strings.Split(arn, ":")
		if len(p) < 6 {
			return ""
		}
		return "arn:" + p[1] + ":apigateway:" + p[3] + ":sqs:path/" + p[4] + "/" + p[5]
	}).(pulumi.StringOutput)
	tpl := pulumi.String(requestTemplate())
	integration, err := apigateway.NewIntegration(ctx, "hook-sqs", &apigateway.IntegrationArgs{
		RestApi:               api.ID(),
		ResourceId:            res.ID(),
		HttpMethod:            method.HttpMethod,
		Type:                  pulumi.String("AWS"),
		IntegrationHttpMethod: pulumi.String("POST"),
		Uri:                   uri,
		Credentials:           role.Arn,
		PassthroughBehavior:   pulumi.String("NEVER"),
		RequestParameters: pulumi.StringMap{
			"integration.request.header.Content-Type": pulumi.String("'application/x-www-form-urlencoded'"),
		},
		RequestTemplates: pulumi.StringMap{
			contentTypeJSON: tpl,
			contentTypeForm: tpl,
		},
	}, opts...)
	if err != nil {
		return nil, err
	}

	deps := []pulumi.Resource{valid.Validator, valid.Model, method, integration}
	for _, r := range integrationAnswers {
		mr, err := apigateway.NewMethodResponse(ctx, "hook-"+r.Code, &apigateway.MethodResponseArgs{
			RestApi:    api.ID(),
			ResourceId: res.ID(),
			HttpMethod: method.HttpMethod,
			StatusCode: pulumi.String(r.Code),
		}, opts...)
		if err != nil {
			return nil, err
		}
		deps = append(deps, mr)
		if r.Body == "" {
			continue
		}
		ir, err := apigateway.NewIntegrationResponse(ctx, "hook-"+r.Code, &apigateway.IntegrationResponseArgs{
			RestApi:           api.ID(),
			ResourceId:        res.ID(),
			HttpMethod:        method.HttpMethod,
			StatusCode:        mr.StatusCode,
			SelectionPattern:  pulumi.String(r.Pattern),
			ResponseTemplates: pulumi.StringMap{contentTypeJSON: pulumi.String(r.Body)},
		}, append(opts, pulumi.DependsOn([]pulumi.Resource{integration}))...)
		if err != nil {
			return nil, err
		}
		deps = append(deps, ir)
	}
	return deps, nil
}

// allowlistPolicy lets only the given source ranges invoke the API.
func allowlistPolicy(api *apigateway.RestApi, cidrs []string) pulumi.StringOutput {
	all := suffixed(api.ExecutionArn, "/*")
	invoke := []string{"execute-api:Invoke"}
	return policyJSON(
		stmt{statement: statement{Sid: "Invoke", Effect: "Allow", Principal: "*", Action: invoke},
			Resources: []pulumi.StringInput{all}},
		stmt{statement: statement{Sid: "OnlyFromAllowlist", Effect: "Deny", Principal: "*", Action: invoke,
			Condition: map[string]map[string]any{"NotIpAddress": {"aws:SourceIp": cidrs}}},
			Resources: []pulumi.StringInput{all}},
	)
}

// newStage deploys the API as stage v1 with access logs and throttling. The deployment is replaced
// whenever apiDefinition changes.
func newStage(ctx *pulumi.Context, cfg Config, api *apigateway.RestApi, deps []pulumi.Resource,
	opts ...pulumi.ResourceOption) (*apigateway.Stage, error) {
	logs, err := cloudwatch.NewLogGroup(ctx, "api-access-logs", &cloudwatch.LogGroupArgs{
		RetentionInDays: pulumi.Int(cfg.LogRetention),
	}, opts...)
	if err != nil {
		return nil, err
	}

	sum := sha256.Sum256([]byte(apiDefinition(cfg)))
	deployment, err := apigateway.NewDeployment(ctx, "webhook", &apigateway.DeploymentArgs{
		RestApi:     api.ID(),
		Description: pulumi.String("backlog-webhook"),
		Triggers:    pulumi.StringMap{"redeployment": pulumi.String(hex.EncodeToString(sum[:]))},
	}, append(opts, pulumi.DependsOn(deps))...)
	if err != nil {
		return nil, err
	}

	stageDeps := []pulumi.Resource{logs}
	if cfg.ManageAccount {
		acct, err := newAccountLogging(ctx)
		if err != nil {
			return nil, err
		}
		stageDeps = append(stageDeps, acct)
	}
	stage, err := apigateway.NewStage(ctx, "v1", &apigateway.StageArgs{
		RestApi:    api.ID(),
		Deployment: deployment.ID(),
		StageName:  pulumi.String(stageName),
		AccessLogSettings: &apigateway.StageAccessLogSettingsArgs{
			DestinationArn: logs.Arn,
			Format:         pulumi.String(accessLogFormat),
		},
	}, append(opts, pulumi.DependsOn(stageDeps))...)
	if err != nil {
		return nil, err
	}

	_, err = apigateway.NewMethodSettings(ctx, "v1-all", &apigateway.MethodSettingsArgs{
		RestApi:    api.ID(),
		StageName:  stage.StageName,
		MethodPath: pulumi.String("*/*"),
		Settings: &apigateway.MethodSettingsSettingsArgs{
			ThrottlingRateLimit:  pulumi.Float64(cfg.RateLimit),
			ThrottlingBurstLimit: pulumi.Int(cfg.BurstLimit),
			MetricsEnabled:       pulumi.Bool(true),
			LoggingLevel:         pulumi.String("OFF"),
			DataTraceEnabled:     pulumi.Bool(false),
		},
	}, pulumi.Parent(stage))
	if err != nil {
		return nil, err
	}
	return stage, nil
}

// apiDefinition is everything that shapes the deployed API: a new deployment follows any change of it,
// since API Gateway serves templates, validation and gateway responses as they were when deployed.
func apiDefinition(cfg Config) string {
	return strings.Join([]string{requestTemplate(), mustJSON(integrationAnswers), webhookSchema,
		mustJSON(gatewayResponses), mustJSON(cfg.AllowedIPs), cfg.WebhookToken}, "\n")
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
