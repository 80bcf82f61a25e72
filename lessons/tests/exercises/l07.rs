/// The slots of keys with and without a hash tag, an empty tag, two tags, a `}` before the `{`,
/// an unclosed tag, non-ASCII text and the empty key, each compared with `CLUSTER KEYSLOT`.
#[tokio::test]
async fn ex07a_hash_slot() {
    let _settings = settings();
    let cluster = session_storage::redis::PrivateCluster::start(3).expect("a private cluster");
    let mut con = session_storage::redis::connect(&cluster.urls()[0], Duration::from_secs(2)).await.expect("node");
    let keys = [
        "foo",
        "session:0f8fad5b-d9cb-469f-a165-70867728950e",
        "users:ids",
        "users:next_id",
        "{users}:ids",
        "{users}:next_id",
        "user:{user_1}:sessions",
        "{}empty-tag",
        "a{b}{c}",
        "a}b{c}",
        "{unclosed",
        "zoë:{ångström}",
        "",
    ];
    let mut slots = Vec::new();
    let mut all_match = true;
    for key in keys {
        let yours = ex07_scale_out::hash_slot(key);
        let redis_says: u16 = cmd(&mut con, &["CLUSTER", "KEYSLOT", key]).await;
        all_match &= yours == redis_says;
        slots.push(json!({"key": key, "slot": yours}));
    }
    insta::assert_yaml_snapshot!(
        "ex07a_hash_slot",
        json!({"slots": slots, "every_slot_matches_cluster_keyslot": all_match})
    );
}

/// 30 session keys of every shard, 20 of them written: what `delete_all` answered, how many
/// keys are left, and what it answers for no keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex07b_delete_all_on_a_cluster() {
    let _settings = settings();
    let cluster = session_storage::redis::PrivateCluster::start(3).expect("a private cluster");
    let con =
        session_storage::redis::connect_cluster(&cluster.urls(), Duration::from_secs(2)).await.expect("cluster");
    let keys: Vec<String> = (0..30).map(|n| format!("ex07:session:{n:02}")).collect();
    let mut writer = con.clone();
    for key in &keys[..20] {
        let _: () = cmd(&mut writer, &["SET", key, "1"]).await;
    }
    let shards: std::collections::BTreeSet<u16> =
        keys[..20].iter().map(|key| session_storage::redis::hash_slot(key) / 5461).collect();
    let deleted = ex07_scale_out::delete_all(&con, &keys).await;
    let mut left = 0;
    for key in &keys {
        let exists: u64 = cmd(&mut writer, &["EXISTS", key]).await;
        left += exists;
    }
    let none = ex07_scale_out::delete_all(&con, &[]).await;
    insta::assert_yaml_snapshot!(
        "ex07b_delete_all",
        json!({
            "keys_written_on_shards": shards.len(),
            "deleted": deleted.map_err(|e| e.to_string()),
            "left": left,
            "no_keys": none.map_err(|e| e.to_string()),
        })
    );
}
