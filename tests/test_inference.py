"""Inference of token mappings from service models, scored against botocore's own paginators."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.model import ServiceModel
from botocore.stub import Stubber

import pagewalk
from pagewalk import SpecError, TokenSpec, _inference, _spec

SESSION = boto3.session.Session(
    region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
)

# The paginated operations whose forced inference did not match botocore's paginator on every
# field before the rules for wrapper structures, other token, limit and flag names, map and
# nested results, positional tokens and metadata lists (61 of 3,507 with botocore 1.44, the same
# 61 of 3,363 with botocore 1.43). Every other paginated operation agreed then and must agree now.
DISAGREED_BEFORE = frozenset(
    {
        "apigateway.GetUsage",
        "athena.GetQueryResults",
        "budgets.DescribeBudgetPerformanceHistory",
        "cloudformation.DescribeChangeSet",
        "cloudfront.ListCloudFrontOriginAccessIdentities",
        "cloudfront.ListDistributions",
        "cloudfront.ListDistributionsByConnectionFunction",
        "cloudfront.ListDistributionsByConnectionMode",
        "cloudfront.ListDistributionsByTrustStore",
        "cloudfront.ListInvalidations",
        "cloudfront.ListInvalidationsForDistributionTenant",
        "cloudfront.ListKeyValueStores",
        "cloudfront.ListOriginAccessControls",
        "cloudfront.ListPublicKeys",
        "cloudfront.ListStreamingDistributions",
        "cloudwatch.DescribeAlarms",
        "cloudwatch.GetMetricData",
        "config.SelectAggregateResourceConfig",
        "devicefarm.GetOfferingStatus",
        "devicefarm.ListUniqueProblems",
        "devops-guru.DescribeOrganizationResourceCollectionHealth",
        "devops-guru.GetResourceCollection",
        "devops-guru.ListAnomaliesForInsight",
        "devops-guru.ListAnomalousLogGroups",
        "ec2.DescribeVpcEndpointServices",
        "ec2.SearchTransitGatewayRoutes",
        "ecr.DescribeImageScanFindings",
        "elasticache.DescribeEngineDefaultParameters",
        "emr.ListSessions",
        "importexport.ListJobs",
        "kinesis.DescribeStream",
        "marketplace-discovery.SearchFacets",
        "neptune.DescribeEngineDefaultParameters",
        "rds.DescribeEngineDefaultClusterParameters",
        "rds.DescribeEngineDefaultParameters",
        "rds.DownloadDBLogFilePortion",
        "redshift.DescribeDefaultClusterParameters",
        "resource-groups.ListGroupResources",
        "resourcegroupstaggingapi.GetResources",
        "rolesanywhere.ListCrls",
        "rolesanywhere.ListProfiles",
        "rolesanywhere.ListSubjects",
        "rolesanywhere.ListTrustAnchors",
        "route53-recovery-readiness.GetReadinessCheckStatus",
        "route53.ListResourceRecordSets",
        "route53.ListVPCAssociationAuthorizations",
        "route53domains.ListDomains",
        "route53domains.ListOperations",
        "route53domains.ListPrices",
        "route53domains.ViewBilling",
        "s3.ListBuckets",
        "s3.ListDirectoryBuckets",
        "s3.ListMultipartUploads",
        "s3.ListObjects",
        "s3.ListParts",
        "s3tables.ListNamespaces",
        "s3tables.ListTableBuckets",
        "s3tables.ListTables",
        "sdb.ListDomains",
        "taxsettings.ListTaxExemptions",
        "workspaces.DescribeWorkspaceDirectories",
    }
)

# Why each remaining disagreement remains. "botocore" marks a gap or a slip in botocore's
# paginator (the model has what inference found); "inference" marks names that cannot tell.
_NO_MORE = "botocore leaves out more_results, though the model has IsTruncated"
_NO_LIMIT = "botocore leaves out the model's page-size parameter"
KNOWN_DISAGREEMENTS = {
    "cloudfront.ListDistributionsByConnectionFunction": ("botocore", _NO_MORE),
    "cloudfront.ListDistributionsByConnectionMode": ("botocore", _NO_MORE),
    "cloudfront.ListDistributionsByTrustStore": ("botocore", _NO_MORE),
    "cloudfront.ListInvalidationsForDistributionTenant": ("botocore", _NO_MORE),
    "cloudfront.ListOriginAccessControls": ("botocore", _NO_MORE),
    "devops-guru.DescribeOrganizationResourceCollectionHealth": ("botocore", _NO_LIMIT),
    "emr.ListSessions": ("botocore", _NO_LIMIT),
    "rolesanywhere.ListCrls": ("botocore", _NO_LIMIT),
    "rolesanywhere.ListProfiles": ("botocore", _NO_LIMIT),
    "rolesanywhere.ListSubjects": ("botocore", _NO_LIMIT),
    "rolesanywhere.ListTrustAnchors": ("botocore", _NO_LIMIT),
    "route53.ListVPCAssociationAuthorizations": ("botocore", _NO_LIMIT),
    "workspaces.DescribeWorkspaceDirectories": ("botocore", _NO_LIMIT),
    "devops-guru.ListAnomalousLogGroups": (
        "botocore",
        "botocore's result_key InsightId is a string, not the AnomalousLogGroups list",
    ),
    "resource-groups.ListGroupResources": (
        "botocore",
        "botocore's ResourceIdentifiers is deprecated in the model in favour of Resources",
    ),
    "budgets.DescribeBudgetPerformanceHistory": (
        "botocore",
        "botocore's result_key is a structure; inference takes the list inside it",
    ),
    "cloudwatch.DescribeAlarms": ("inference", "CompositeAlarms before MetricAlarms"),
    "config.SelectAggregateResourceConfig": (
        "inference",
        "Limit and MaxResults are documented alike; botocore takes Limit",
    ),
    "devops-guru.GetResourceCollection": (
        "inference",
        "Tags or CloudFormation.StackNames, one per request",
    ),
    "devops-guru.ListAnomaliesForInsight": (
        "inference",
        "ProactiveAnomalies before ReactiveAnomalies",
    ),
    "ec2.DescribeVpcEndpointServices": ("inference", "ServiceNames before ServiceDetails"),
    "rds.DownloadDBLogFilePortion": (
        "inference",
        "NumberOfLines as the limit and a string as the result",
    ),
    "s3.ListObjects": ("inference", "NextMarker || Contents[-1].Key"),
}
FIELDS = ("input_token", "output_token", "limit_key", "result_key", "more_results")


@functools.cache
def service_model(service: str) -> ServiceModel:
    model: ServiceModel = SESSION._session.get_service_model(service)
    return model


@functools.cache
def client(service: str) -> Any:
    return SESSION.client(service, region_name="us-east-1")


def fields(spec: TokenSpec) -> tuple[Any, ...]:
    # The first result key is what items() yields; botocore's further keys are not inferred.
    return (
        spec.input_tokens,
        spec.output_tokens,
        spec.limit_key,
        spec.result_keys[:1],
        spec.more_results,
    )


def inferred(service: str, operation: str) -> TokenSpec:
    """Inference forced on ``operation``, whatever botocore or the registry say."""
    spec = _inference.infer(service_model(service).operation_model(operation))
    assert spec is not None, f"nothing inferred for {service}.{operation}"
    assert spec.source == "inferred"
    return spec


def test_inference_agrees_with_botocores_paginators_and_regresses_none() -> None:
    """Inference forced on every paginated operation, scored field by field against botocore."""
    total = exact = 0
    per_field: Counter[str] = Counter()
    disagreements: dict[str, tuple[Any, Any]] = {}
    for service in SESSION.get_available_services():
        model = service_model(service)
        for operation in model.operation_names:
            truth = _spec._from_botocore(model, operation)
            if truth is None:
                continue
            total += 1
            guess = _inference.infer(model.operation_model(operation))
            expected = fields(truth)
            got = fields(guess) if guess is not None else (None,) * len(FIELDS)
            per_field.update(
                name for name, a, b in zip(FIELDS, got, expected, strict=True) if a == b
            )
            if got == expected:
                exact += 1
            else:
                disagreements[f"{service}.{operation}"] = (got, expected)
    print(f"\ninference agrees with botocore on {exact} of {total} paginated operations")
    for name in FIELDS:
        print(f"  {name:13} {per_field[name]:5} ({per_field[name] / total:.2%})")
    for operation, (got, expected) in sorted(disagreements.items()):
        kind, reason = KNOWN_DISAGREEMENTS.get(operation, ("unclassified", ""))
        print(f"  [{kind}] {operation}: {reason}\n      inferred {got}\n      botocore {expected}")
    assert total > 3000
    assert exact / total >= 0.993
    regressions = sorted(set(disagreements) - DISAGREED_BEFORE)
    assert not regressions, regressions


# -- the rules, one by one (inference forced where botocore has a paginator) -------------------


def test_a_token_inside_the_only_output_structure_is_found_with_its_prefix() -> None:
    spec = inferred("cloudfront", "ListDistributions")
    assert fields(spec) == (
        ("Marker",),
        ("DistributionList.NextMarker",),
        "MaxItems",
        ("DistributionList.Items",),
        "DistributionList.IsTruncated",
    )
    engine = inferred("rds", "DescribeEngineDefaultParameters")
    assert (engine.output_token, engine.result_key) == (
        "EngineDefaults.Marker",
        "EngineDefaults.Parameters",
    )


def test_a_cloudfront_list_without_a_paginator_resolves_by_inference() -> None:
    spec = pagewalk.spec_for(client("cloudfront").list_cache_policies)
    assert spec.source == "inferred"
    assert (spec.output_token, spec.result_key) == (
        "CachePolicyList.NextMarker",
        "CachePolicyList.Items",
    )


def test_marker_is_answered_by_next_page_marker() -> None:
    assert inferred("route53domains", "ListDomains").output_token == "NextPageMarker"


@pytest.mark.parametrize(
    ("service", "operation", "limit_key"),
    [
        ("s3", "ListMultipartUploads", "MaxUploads"),
        ("s3", "ListBuckets", "MaxBuckets"),
        ("sdb", "ListDomains", "MaxNumberOfDomains"),
        ("cloudwatch", "GetMetricData", "MaxDatapoints"),
        ("resourcegroupstaggingapi", "GetResources", "ResourcesPerPage"),
        # maxMergeHunks comes first in the model; maxConflictFiles counts the "conflicts".
        ("codecommit", "BatchDescribeMergeConflicts", "maxConflictFiles"),
    ],
)
def test_limits_under_other_names(service: str, operation: str, limit_key: str) -> None:
    assert inferred(service, operation).limit_key == limit_key


@pytest.mark.parametrize(
    ("service", "operation", "more_results"),
    [
        ("ec2", "SearchTransitGatewayRoutes", "AdditionalRoutesAvailable"),
        ("rds", "DownloadDBLogFilePortion", "AdditionalDataPending"),
    ],
)
def test_more_results_flags_under_other_names(
    service: str, operation: str, more_results: str
) -> None:
    assert inferred(service, operation).more_results == more_results


@pytest.mark.parametrize(
    ("service", "operation", "result_key"),
    [
        ("apigateway", "GetUsage", "items"),  # a map, there is no list
        ("devicefarm", "ListUniqueProblems", "uniqueProblems"),
        ("athena", "GetQueryResults", "ResultSet.Rows"),  # the list inside a structure
        ("ecr", "DescribeImageScanFindings", "imageScanFindings.findings"),
        ("iottwinmaker", "ExecuteQuery", "rows"),  # not columnDescriptions
        ("iotsitewise", "BatchGetAssetPropertyValue", "successEntries"),  # not errorEntries
        ("cloudformation", "DescribeChangeSet", "Changes"),  # not Parameters
        ("route53-recovery-readiness", "GetReadinessCheckStatus", "Resources"),  # not Messages
        ("dynamodbstreams", "DescribeStream", "StreamDescription.Shards"),  # not KeySchema
    ],
)
def test_the_result_is_the_data_not_its_metadata(
    service: str, operation: str, result_key: str
) -> None:
    assert inferred(service, operation).result_key == result_key


def test_route53_start_and_next_record_members_make_a_three_part_token() -> None:
    spec = inferred("route53", "ListResourceRecordSets")
    assert fields(spec) == (
        ("StartRecordName", "StartRecordType", "StartRecordIdentifier"),
        ("NextRecordName", "NextRecordType", "NextRecordIdentifier"),
        "MaxItems",
        ("ResourceRecordSets",),
        "IsTruncated",
    )


def test_route53_look_alikes_without_a_paginator_are_inferred() -> None:
    geo = pagewalk.spec_for(client("route53").list_geo_locations)
    assert geo.source == "inferred"
    assert geo.input_tokens == ("StartContinentCode", "StartCountryCode", "StartSubdivisionCode")
    assert geo.output_tokens == ("NextContinentCode", "NextCountryCode", "NextSubdivisionCode")
    by_name = pagewalk.spec_for(client("route53").list_hosted_zones_by_name)
    assert by_name.source == "inferred"
    assert by_name.input_tokens == ("DNSName", "HostedZoneId")
    assert by_name.output_tokens == ("NextDNSName", "NextHostedZoneId")
    assert by_name.more_results == "IsTruncated"


def test_exclusive_start_is_answered_by_the_last_result() -> None:
    spec = inferred("kinesis", "DescribeStream")
    assert fields(spec) == (
        ("ExclusiveStartShardId",),
        ("StreamDescription.Shards[-1].ShardId",),
        "Limit",
        ("StreamDescription.Shards",),
        "StreamDescription.HasMoreShards",
    )


@pytest.mark.parametrize(
    ("method", "output_token", "more_results"),
    [
        ("list_delivery_streams", "DeliveryStreamNames[-1]", "HasMoreDeliveryStreams"),
        ("list_tags_for_delivery_stream", "Tags[-1].Key", "HasMoreTags"),
        (
            "describe_delivery_stream",
            "DeliveryStreamDescription.Destinations[-1].DestinationId",
            "DeliveryStreamDescription.HasMoreDestinations",
        ),
    ],
)
def test_firehose_exclusive_start_look_alikes_are_inferred(
    method: str, output_token: str, more_results: str
) -> None:
    spec = pagewalk.spec_for(getattr(client("firehose"), method))
    assert spec.source == "inferred"
    assert (spec.output_token, spec.more_results) == (output_token, more_results)


def test_a_marker_without_a_next_marker_is_the_last_results_id() -> None:
    assert inferred("importexport", "ListJobs").output_token == "Jobs[-1].JobId"


def test_integer_part_number_markers_pair() -> None:
    spec = inferred("s3", "ListParts")
    assert fields(spec) == (
        ("PartNumberMarker",),
        ("NextPartNumberMarker",),
        "MaxParts",
        ("Parts",),
        "IsTruncated",
    )


@pytest.mark.parametrize(
    ("service", "method"),
    [
        ("wafv2", "update_ip_set"),  # LockToken -> NextLockToken, no more-results flag
        ("kinesis", "get_records"),  # ShardIterator -> NextShardIterator: a stream
        ("s3", "get_object_attributes"),  # an integer PartNumberMarker, but two structures
        ("apigateway", "get_tags"),  # position in, nothing answers it
    ],
)
def test_look_alike_names_are_no_page_tokens(service: str, method: str) -> None:
    with pytest.raises(SpecError, match="token_spec="):
        pagewalk.spec_for(getattr(client(service), method))


# -- inferred mappings walk ---------------------------------------------------------------------


@pytest.fixture
def stubbed() -> Iterator[Any]:
    stubs: list[Stubber] = []

    def make(service: str) -> tuple[Any, Stubber]:
        fresh = SESSION.client(service, region_name="us-east-1")
        stubber = Stubber(fresh)
        stubber.activate()
        stubs.append(stubber)
        return fresh, stubber

    yield make
    for stubber in stubs:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def test_a_walk_sends_the_last_results_key_as_the_exclusive_start(stubbed: Any) -> None:
    firehose, stubber = stubbed("firehose")
    tags = [{"Key": key, "Value": "v"} for key in ("a", "b", "c")]
    stubber.add_response(
        "list_tags_for_delivery_stream",
        {"Tags": tags[:2], "HasMoreTags": True},
        {"DeliveryStreamName": "s", "Limit": 2},
    )
    stubber.add_response(
        "list_tags_for_delivery_stream",
        {"Tags": tags[2:], "HasMoreTags": False},
        {"DeliveryStreamName": "s", "Limit": 2, "ExclusiveStartTagKey": "b"},
    )
    walk = pagewalk.items(
        firehose.list_tags_for_delivery_stream, DeliveryStreamName="s", page_size=2
    )
    assert [tag["Key"] for tag in walk] == ["a", "b", "c"]


def test_a_walk_follows_a_token_inside_a_wrapper_structure(stubbed: Any) -> None:
    cloudfront, stubber = stubbed("cloudfront")
    params = {"DistributionId": "D", "Alias": "*.example.com"}

    def page(aliases: list[str], next_marker: str | None) -> dict[str, Any]:
        listing: dict[str, Any] = {
            "MaxItems": 2,
            "Quantity": len(aliases),
            "Items": [{"Alias": alias} for alias in aliases],
        }
        if next_marker:
            listing["NextMarker"] = next_marker
        return {"ConflictingAliasesList": listing}

    stubber.add_response(
        "list_conflicting_aliases", page(["a", "b"], "m2"), {**params, "MaxItems": 2}
    )
    stubber.add_response(
        "list_conflicting_aliases", page(["c"], None), {**params, "MaxItems": 2, "Marker": "m2"}
    )
    walk = pagewalk.items(cloudfront.list_conflicting_aliases, **params, page_size=2)
    assert [item["Alias"] for item in walk] == ["a", "b", "c"]


def test_a_walk_sends_every_part_of_a_route53_positional_token(stubbed: Any) -> None:
    route53, stubber = stubbed("route53")
    zone = {"Id": "Z", "Name": "a.example.", "CallerReference": "r"}
    stubber.add_response(
        "list_hosted_zones_by_name",
        {
            "HostedZones": [zone],
            "IsTruncated": True,
            "MaxItems": "1",
            "NextDNSName": "b.example.",
            "NextHostedZoneId": "Z2",
        },
        {"MaxItems": "1"},
    )
    stubber.add_response(
        "list_hosted_zones_by_name",
        {"HostedZones": [dict(zone, Name="b.example.")], "IsTruncated": False, "MaxItems": "1"},
        {"MaxItems": "1", "DNSName": "b.example.", "HostedZoneId": "Z2"},
    )
    names = [z["Name"] for z in pagewalk.items(route53.list_hosted_zones_by_name, page_size=1)]
    assert names == ["a.example.", "b.example."]
