//! The plan index's own cases: references, trimming, module paths.

use super::*;

#[test]
fn references_parse() {
    assert_eq!(
        parse_reference("aws_subnet.private_a.id"),
        Subject::Resource {
            data: false,
            resource_type: "aws_subnet".into(),
            name: "private_a".into(),
            key: None,
            attr: Some("id".into())
        }
    );
    assert_eq!(
        parse_reference("data.aws_prefix_list.s3[\"a.b\"].id"),
        Subject::Resource {
            data: true,
            resource_type: "aws_prefix_list".into(),
            name: "s3".into(),
            key: Some(Value::String("a.b".into())),
            attr: Some("id".into())
        }
    );
    assert_eq!(
        parse_reference("module.net[0].subnet_ids"),
        Subject::ModuleOutput {
            call: "net".into(),
            output: "subnet_ids".into()
        }
    );
    assert_eq!(parse_reference("module.net"), Subject::Module);
    assert_eq!(parse_reference("count.index"), Subject::SameKey);
    assert_eq!(parse_reference("var.x"), Subject::Variable("x".into()));
    assert_eq!(parse_reference("x[\"unterminated"), Subject::Ignored);
}

#[test]
fn other_providers_resources_keep_only_their_top_level_strings() {
    let plan: PlanJson = serde_json::from_value(serde_json::json!({
        "planned_values": {"root_module": {"resources": [
            {"address": "kubernetes_deployment.app", "type": "kubernetes_deployment",
             "name": "app", "values": {"id": "default/app", "replicas": 3,
             "spec": [{"template": [{"metadata": [{"name": "app"}]}]}]}},
            {"address": "aws_subnet.a", "type": "aws_subnet", "name": "a",
             "values": {"id": "subnet-1", "tags": {"Name": "a"}}}
        ]}},
        "resource_changes": [
            {"address": "kubernetes_deployment.app", "type": "kubernetes_deployment",
             "name": "app", "change": {"actions": ["update"],
             "after_unknown": {"uid": true, "spec": [{"template": true}]}}},
            {"address": "aws_subnet.a", "type": "aws_subnet", "name": "a",
             "change": {"actions": ["create"], "after_unknown": {"tags": {"Name": true}}}}
        ]
    }))
    .unwrap();
    let mut plan = plan;
    let resources = Resources::take(&mut plan);
    let index = Index::build(&plan, resources);
    let other = &index.instances[0];
    assert_eq!(
        Value::Object(other.values.clone()),
        serde_json::json!({"id": "default/app"})
    );
    assert_eq!(other.unknown, serde_json::json!({"uid": true}));
    assert_eq!(other.snapshot_id(), "default/app");
    assert!(matches!(other.field(&key("uid")), Field::Unknown));
    let subnet = &index.instances[1];
    assert_eq!(subnet.values["tags"], serde_json::json!({"Name": "a"}));
    assert_eq!(subnet.unknown, serde_json::json!({"tags": {"Name": true}}));
}

#[test]
fn module_paths() {
    assert_eq!(module_calls("module.a[0].module.b[\"x.y\"]"), ["a", "b"]);
    assert!(module_calls("").is_empty());
    assert_eq!(
        parent_module_instance("module.a[0].module.b"),
        "module.a[0]"
    );
    assert_eq!(parent_module_instance("module.a"), "");
}
