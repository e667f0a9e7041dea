//! Rate limits and credits: set at creation and by edit through the JSON API, shown in
//! records and on the key's page.

use std::net::SocketAddr;

use serde_json::{Value, json};

use super::{Client, Fixture, element_text};

pub(super) async fn api_sets_usage_limits(addr: SocketAddr, f: &Fixture) {
    let mut api = Client::with_key(addr, &f.admin_key);
    let created = api
        .json(
            "POST",
            "/api/keys",
            &json!({"name": "metered", "rate_limit": "100/s", "credits": 3, "refill": "1000/month"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let record = &created.json()["record"];
    let prefix = record["prefix"].as_str().expect("prefix").to_owned();
    assert_eq!(record["rate_limit"], "100/s");
    assert_eq!(record["credits"]["remaining"], 3);
    assert_eq!(record["credits"]["refill"], "1000/month");
    assert!(
        record["credits"]["next_refill"]
            .as_str()
            .is_some_and(|t| t.ends_with("-01T00:00:00Z")),
        "a monthly refill comes on the first: {record}"
    );
    let stored = f.keys.get(&prefix).await.expect("get");
    assert_eq!(stored.credits.map(|c| c.remaining), Some(3));

    let path = format!("/api/keys/{prefix}");
    let send_patch = |body: Value| {
        let mut api = Client::with_key(addr, &f.admin_key);
        let path = path.clone();
        async move { api.json("PATCH", &path, &body).await }
    };
    // A new count keeps the refill; stopping the refill keeps the count.
    let counted = send_patch(json!({"credits": 10})).await;
    assert_eq!(counted.status, 200, "{}", counted.body);
    let counted = counted.json();
    assert_eq!(counted["credits"]["remaining"], 10);
    assert_eq!(counted["credits"]["refill"], "1000/month");
    let unrefilled = send_patch(json!({"refill": null, "rate_limit": "5/m,burst=2"})).await;
    assert_eq!(unrefilled.status, 200, "{}", unrefilled.body);
    let unrefilled = unrefilled.json();
    assert_eq!(unrefilled["credits"]["remaining"], 10);
    assert_eq!(unrefilled["credits"]["refill"], Value::Null);
    assert_eq!(unrefilled["credits"]["next_refill"], Value::Null);
    assert_eq!(unrefilled["rate_limit"], "5/m,burst=2");

    // Bad input is a 400 that changes nothing.
    for body in [
        json!({"credits": null, "refill": "5/day"}),
        json!({"credits": -1}),
        json!({"refill": "0/day"}),
        json!({"rate_limit": "fast"}),
    ] {
        let refused = send_patch(body.clone()).await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.body);
    }
    let bad_create = api
        .json(
            "POST",
            "/api/keys",
            &json!({"name": "x", "credits": 9_007_199_254_740_992_u64}),
        )
        .await;
    assert_eq!(bad_create.status, 400, "{}", bad_create.body);
    let stored = f.keys.get(&prefix).await.expect("get");
    assert_eq!(stored.credits.map(|c| c.remaining), Some(10));

    // The key's page shows what the API set.
    let mut browser = Client::new(addr);
    assert_eq!(browser.login(&f.admin_key).await.status, 303);
    let page = browser.get(&format!("/keys/{prefix}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(element_text(&page.body, "rate-limit"), Some("5/m,burst=2"));
    assert_eq!(element_text(&page.body, "credits"), Some("10 left"));
    let list = browser.get("/").await;
    assert!(
        list.body.contains(r#"<td class="credits">10 left</td>"#),
        "{}",
        list.body
    );

    let removed = send_patch(json!({"credits": null, "rate_limit": null})).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(removed.json()["credits"], Value::Null);
    assert_eq!(removed.json()["rate_limit"], Value::Null);
    let page = browser.get(&format!("/keys/{prefix}")).await;
    assert_eq!(element_text(&page.body, "credits"), Some("-"));
}
