#!/usr/bin/env bash
# Creates deploy/cloudformation.yaml as a stack in moto, checks every resource moto supports in
# its own service API, names the ones moto's CloudFormation skips, and deletes the stack.
# Run by tests/suites/60-deploy.sh with the bench's environment (AWS_ENDPOINT_URL etc.) set.
#
# Usage: tests/deploy/stack.sh SCRATCH_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
scratch=${1:?scratch directory}
fail() { echo "FAIL: $*" >&2; exit 1; }

# Resources moto 5.2.5's CloudFormation does not implement (it skips them with a warning and
# still reports CREATE_COMPLETE). Listed in docs/deploy.md; a change on either side fails here.
# The alarms and the autoscaling resources are then created through their own service APIs from
# the template's properties (intrinsics resolved as CloudFormation would), which moto does serve.
UNSUPPORTED="AlertSubscription AnomalyBandAlarm Endpoint5xxAlarm EndpointLatencyAlarm ForwarderErrorsAlarm IteratorAgeAlarm ScalableTarget ScalingPolicy"

# The forwarder Lambda's real artifact, built as docs/forwarder.md says.
# shellcheck source=tests/common.sh
source tests/common.sh
build_bins
python=$(dirname "$(command -v aws)")/python
"$python" - "$scratch/forwarder.zip" target/release/bootstrap <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    info = zipfile.ZipInfo("bootstrap")
    info.external_attr = 0o755 << 16
    z.writestr(info, open(sys.argv[2], "rb").read())
PY
aws s3api create-bucket --bucket isoserve-stack-code >/dev/null
aws s3 cp --only-show-errors "$scratch/forwarder.zip" s3://isoserve-stack-code/forwarder.zip

stack=isoserve-stack
aws cloudformation create-stack --stack-name "$stack" --capabilities CAPABILITY_IAM \
  --template-body file://deploy/cloudformation.yaml \
  --parameters ParameterKey=EcrRepositoryName,ParameterValue=isoserve ParameterKey=ImageTag,ParameterValue=v1 \
    ParameterKey=ModelDataBucket,ParameterValue=isoserve-stack-code ParameterKey=ModelDataKey,ParameterValue=model.tar.gz \
    ParameterKey=ForwarderCodeBucket,ParameterValue=isoserve-stack-code ParameterKey=ForwarderCodeKey,ParameterValue=forwarder.zip \
    ParameterKey=AlertEmail,ParameterValue=alerts@example.com ParameterKey=StreamShardCount,ParameterValue=2 \
    ParameterKey=TrendContext,ParameterValue=12 ParameterKey=OutputFormat,ParameterValue=native \
    ParameterKey=Explain,ParameterValue=3 ParameterKey=TargetModelFrom,ParameterValue=partition-key \
    ParameterKey=AutoScalingMaxInstances,ParameterValue=4 ParameterKey=AutoScalingTargetInvocations,ParameterValue=30000 \
    >/dev/null
aws cloudformation wait stack-create-complete --stack-name "$stack"

# Template resources (under their conditions: every condition is true with these parameters but
# the asynchronous endpoint's, checked below through SageMaker's API) against what the stack created.
"$python" - deploy/cloudformation.yaml >"$scratch/template-ids" <<'PY'
import sys
from cfnlint.decode import decode
template, matches = decode(sys.argv[1])
assert not matches, matches
print("\n".join(sorted(r for r, v in template["Resources"].items() if v.get("Condition") != "IsAsync")))
PY
aws cloudformation describe-stack-resources --stack-name "$stack" \
  --query 'StackResources[].LogicalResourceId' --output text | tr '\t' '\n' | grep -vx None | sort >"$scratch/stack-ids"
skipped=$(comm -23 "$scratch/template-ids" "$scratch/stack-ids" | tr '\n' ' ' | sed 's/ $//')
echo "created by moto: $(tr '\n' ' ' <"$scratch/stack-ids")"
echo "skipped by moto's CloudFormation: ${skipped:-none}"
[ "$skipped" = "$UNSUPPORTED" ] || fail "moto skipped [$skipped], expected [$UNSUPPORTED]"

# (moto answers describe-stack-resource, singular, with a 500.)
physical() {
  aws cloudformation describe-stack-resources --stack-name "$stack" \
    --query "StackResources[?LogicalResourceId=='$1'].PhysicalResourceId" --output text
}
output() {
  aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
expect() { [ "$2" = "$3" ] || fail "$1: got [$2], expected [$3]"; }

endpoint=$(output EndpointName)
expect "endpoint status" "$(aws sagemaker describe-endpoint --endpoint-name "$endpoint" --query EndpointStatus --output text)" InService
model_arn=$(physical Model)
model=$(aws sagemaker describe-model --model-name "${model_arn##*/}" \
  --query '[PrimaryContainer.Image,PrimaryContainer.ModelDataUrl,PrimaryContainer.Environment.ISOSERVE_OUTPUT_FORMAT]' --output text)
expect "model container" "$(tr -s '\t' ' ' <<<"$model")" \
  "123456789012.dkr.ecr.us-east-1.amazonaws.com/isoserve:v1 s3://isoserve-stack-code/model.tar.gz native"

stream=$(output StreamName)
expect "stream shards" "$(aws kinesis describe-stream-summary --stream-name "$stream" \
  --query StreamDescriptionSummary.OpenShardCount --output text)" 2

function=$(output ForwarderFunctionName)
conf=$(aws lambda get-function-configuration --function-name "$function" \
  --query '[Runtime,Handler,Environment.Variables.ENDPOINT_NAME,Environment.Variables.FEATURE_NAMES,Environment.Variables.STREAM_NAME,Environment.Variables.TREND_CONTEXT,Environment.Variables.EXPLAIN,Environment.Variables.TARGET_MODEL_FROM]' --output text)
expect "lambda configuration" "$(tr -s '\t' ' ' <<<"$conf")" \
  "provided.al2023 bootstrap $endpoint feature_1,feature_2,feature_3,feature_4,feature_5 $stream 12 3 partition-key"
# A trend-aware model (TrendContext > 0) gets a tumbling window, whose state carries each key's
# context between invocations.
mapping=$(aws lambda list-event-source-mappings --function-name "$function" \
  --query 'EventSourceMappings[0].[EventSourceArn,FunctionResponseTypes[0],BisectBatchOnFunctionError,TumblingWindowInSeconds]' --output text)
expect "event-source mapping" "$(tr -s '\t' ' ' <<<"$mapping")" "$(output StreamArn) ReportBatchItemFailures True 900"

aws sns get-topic-attributes --topic-arn "$(output AlertTopicArn)" >/dev/null || fail "no alert topic"

# The resources moto's CloudFormation skips, created with their own APIs from the template's
# properties, with the stack's parameters and resources substituted: the scaling target and policy
# (Application Auto Scaling) and the five alarms (CloudWatch), each checked as the API reads it back.
"$python" - deploy/cloudformation.yaml "$endpoint" "$(output AlertTopicArn)" "${model_arn##*/}" <<'PY' || fail "alarms, autoscaling and endpoint variants from the template"
import re, sys, boto3
from cfnlint.decode import decode
template, _ = decode(sys.argv[1])
endpoint, topic, model = sys.argv[2:]
params = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
params.update(EndpointName="isoserve", AutoScalingMaxInstances="4", AutoScalingTargetInvocations="30000")
attrs = {"Endpoint.EndpointName": endpoint, "ScalableTarget": "target", "AlertTopic": topic,
         "AsyncResultTopic": topic + "-async", "Model.ModelName": model}
NO_VALUE = object()
def condition(name):
    return resolve(template["Conditions"][name])
def resolve(v):
    if isinstance(v, dict) and len(v) == 1:
        (fn, arg), = v.items()
        if fn == "Ref":
            return NO_VALUE if arg == "AWS::NoValue" else attrs.get(arg, params.get(arg))
        if fn == "Fn::GetAtt":
            return attrs[".".join(arg) if isinstance(arg, list) else arg]
        if fn == "Fn::Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(attrs.get(m[1], params.get(m[1]))), arg)
        if fn == "Fn::If":
            return resolve(arg[1] if condition(arg[0]) else arg[2])
        if fn == "Fn::Equals":
            return str(resolve(arg[0])) == str(resolve(arg[1]))
        if fn == "Fn::Not":
            return not resolve(arg[0])
    if isinstance(v, dict):
        return {k: r for k, r in ((k, resolve(x)) for k, x in v.items()) if r is not NO_VALUE}
    if isinstance(v, list):
        return [r for r in map(resolve, v) if r is not NO_VALUE]
    return v
res = template["Resources"]
def number(v):
    return float(v) if "." in str(v) else int(v)
scaling = boto3.client("application-autoscaling")
target = resolve(res["ScalableTarget"]["Properties"])
for k in ("MinCapacity", "MaxCapacity"):
    target[k] = number(target[k])
scaling.register_scalable_target(**target)
policy = resolve(res["ScalingPolicy"]["Properties"])
policy.pop("ScalingTargetId")
conf = policy["TargetTrackingScalingPolicyConfiguration"]
for k in ("TargetValue", "ScaleInCooldown", "ScaleOutCooldown"):
    conf[k] = number(conf[k])
scaling.put_scaling_policy(ServiceNamespace=target["ServiceNamespace"], ResourceId=target["ResourceId"],
                           ScalableDimension=target["ScalableDimension"], **policy)
got = scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[target["ResourceId"]])["ScalableTargets"][0]
assert (got["ResourceId"], got["MinCapacity"], got["MaxCapacity"]) == (
    "endpoint/%s/variant/AllTraffic" % endpoint, 1, 4), got
got = scaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=target["ResourceId"])["ScalingPolicies"][0]
conf = got["TargetTrackingScalingPolicyConfiguration"]
assert (got["PolicyType"], conf["TargetValue"], conf["PredefinedMetricSpecification"]["PredefinedMetricType"]) == (
    "TargetTrackingScaling", 30000.0, "SageMakerVariantInvocationsPerInstance"), got
cloudwatch = boto3.client("cloudwatch")
names = [n for n, r in res.items() if r["Type"] == "AWS::CloudWatch::Alarm"]
for name in names:
    props = resolve(res[name]["Properties"])
    for k in ("Threshold", "Period", "EvaluationPeriods"):
        if k in props:
            props[k] = number(props[k])
    for m in props.get("Metrics", []):
        if "MetricStat" in m:
            m["MetricStat"]["Period"] = number(m["MetricStat"]["Period"])
    cloudwatch.put_metric_alarm(AlarmName=name, **props)
alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
assert sorted(alarms) == sorted(names) and len(names) == 5, sorted(alarms)
assert all(a["AlarmActions"] == [topic] for a in alarms.values()), alarms
band = alarms["AnomalyBandAlarm"]
assert band["ComparisonOperator"] == "LessThanLowerOrGreaterThanUpperThreshold" and band["ThresholdMetricId"] == "band"
assert {m["Id"]: m.get("Expression") for m in band["Metrics"]}["band"] == "ANOMALY_DETECTION_BAND(anomalies, 2)"
assert alarms["IteratorAgeAlarm"]["Threshold"] == 300000 and alarms["EndpointLatencyAlarm"]["Threshold"] == 100000
for name in ("ForwarderErrorsAlarm", "IteratorAgeAlarm"):
    assert alarms[name]["Namespace"] == "Isoserve/Forwarder", alarms[name]
    assert alarms[name]["Dimensions"] == [{"Name": "Endpoint", "Value": endpoint}], alarms[name]
# The endpoint configuration of a serverless and of an asynchronous stack (the parameters that
# make them), created with SageMaker's API and read back.
sagemaker = boto3.client("sagemaker")
base = dict(params)
for name, extra in [("serverless", {"ServerlessMemoryMB": "2048"}),
                    ("async", {"AsyncOutputBucket": "results-bucket"})]:
    params.clear(); params.update(base, **extra)
    props = resolve(res["EndpointConfig"]["Properties"])
    for v in props["ProductionVariants"]:
        for k in ("InitialInstanceCount", "InitialVariantWeight"):
            if k in v:
                v[k] = number(v[k])
        if "ServerlessConfig" in v:
            v["ServerlessConfig"] = {k: number(x) for k, x in v["ServerlessConfig"].items()}
    sagemaker.create_endpoint_config(EndpointConfigName="stack-" + name, **props)
    got = sagemaker.describe_endpoint_config(EndpointConfigName="stack-" + name)
    variant = got["ProductionVariants"][0]
    if name == "serverless":
        assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 20}, variant
        assert "InstanceType" not in variant and "AsyncInferenceConfig" not in got, got
        assert not condition("IsAsync") and condition("HasForwarder")
    else:
        out = got["AsyncInferenceConfig"]["OutputConfig"]
        assert out["S3OutputPath"] == "s3://results-bucket/isoserve-async/", out
        assert out["NotificationConfig"] == {"SuccessTopic": topic + "-async", "ErrorTopic": topic}, out
        assert variant["InstanceType"] == "ml.m5.large" and "ServerlessConfig" not in variant, variant
        # InvokeEndpointAsync only: no stream forwarder in an asynchronous stack.
        assert not condition("HasForwarder")
        env = resolve(res["Model"]["Properties"]["PrimaryContainer"]["Environment"])
        assert env["SAGEMAKER_MAX_PAYLOAD_IN_MB"] == "1024" and env["SAGEMAKER_MODEL_SERVER_TIMEOUT"] == "3600", env
print("serverless and asynchronous endpoint configurations accepted by SageMaker's API")
print("autoscaling (target tracking, 1-4 instances) and alarms (anomaly band, iterator age, forwarder "
      "errors, endpoint 5xx and latency, all to the topic) accepted by their APIs")
PY
# aws CLI v1's sqs commands ignore AWS_ENDPOINT_URL (they always go to queue.amazonaws.com in
# us-east-1); the deploy scripts make no SQS calls, so only this check names the endpoint.
queue_url=$(output DeadLetterQueueUrl)
aws sqs get-queue-url --endpoint-url "$AWS_ENDPOINT_URL" --queue-name "${queue_url##*/}" >/dev/null ||
  fail "no dead-letter queue"

# Least privilege: the forwarder may invoke only the stack's endpoint, read only its stream.
# (moto returns the policy document as a Python repr, hence quotes of either kind below.)
policy=$(aws iam get-role-policy --role-name "$(physical ForwarderRole)" --policy-name isoserve-forwarder --output json)
grep -Eq "[\"']sagemaker:InvokeEndpoint[\"']" <<<"$policy" || fail "forwarder policy lacks InvokeEndpoint: $policy"
grep -Eq "endpoint/isoserve[\"']" <<<"$policy" || fail "InvokeEndpoint not scoped to the endpoint: $policy"
grep -Eq "Resource[\"']: [\"']\\*" <<<"$policy" && fail "forwarder policy has a wildcard resource: $policy"
aws iam get-role-policy --role-name "$(physical SageMakerExecutionRole)" --policy-name isoserve-endpoint \
  --output json | grep -q 's3:::isoserve-stack-code/model.tar.gz' || fail "SageMaker role not scoped to the model object"

aws cloudformation delete-stack --stack-name "$stack"
aws cloudformation wait stack-delete-complete --stack-name "$stack"
aws sagemaker describe-endpoint --endpoint-name "$endpoint" >/dev/null 2>&1 && fail "endpoint survived delete-stack"
aws kinesis describe-stream-summary --stream-name "$stream" >/dev/null 2>&1 && fail "stream survived delete-stack"
echo "stack: created, checked resource by resource, deleted"
