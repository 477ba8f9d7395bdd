use deadpool_postgres::Client;
use gridwalk_core::WorkerId;
use gridwalk_core::protocol::{
    BuildingField, Change, ConflictView, ReviewDecision, ReviewOutcome, Scope, TombstoneReason,
};
use tokio_postgres::IsolationLevel;

use super::allocate_seqs;
use crate::db::codec::{
    left_scope_sql, parse_code, parse_device, parse_record_id, scope_sql, seq_i, seq_u,
};
use crate::db::{ChangeJson, DbError, PullPageJson, PullParams, merge_page};

pub async fn pull(c: &mut Client, p: &PullParams) -> Result<PullPageJson, DbError> {
    // One snapshot for all three streams.
    let tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let fetch = i64::from(p.limit) + 1;
    let after = seq_i(p.after_seq);
    let mut items: Vec<(u64, ChangeJson)> = Vec::new();

    let (pred, scope_val) = scope_sql(&p.scope, "", "$2::text");
    let rows = tx
        .query(
            &format!(
                "SELECT seq, data::text, (SELECT h.entry::text FROM rating_history h
                     WHERE h.building_code = buildings.code ORDER BY h.id DESC LIMIT 1)
                 FROM buildings
                 WHERE seq > $1 AND NOT removed AND {pred} ORDER BY seq LIMIT $3"
            ),
            &[&after, &scope_val, &fetch],
        )
        .await?;
    // Each building comes with the server's latest rating of it (its explanation).
    for r in &rows {
        items.push((
            seq_u(r.try_get(0)?),
            ChangeJson::Building {
                data: r.try_get(1)?,
                rating: r.try_get(2)?,
            },
        ));
    }

    // A fresh device has nothing to drop, so it gets no tombstones.
    if p.after_seq > 0 {
        let (pred, scope_val) = left_scope_sql(&p.scope, "$2::text");
        let rows = tx
            .query(
                &format!(
                    "SELECT seq, code, reason FROM building_exits WHERE seq > $1 AND {pred}
                     ORDER BY seq LIMIT $3"
                ),
                &[&after, &scope_val, &fetch],
            )
            .await?;
        for r in &rows {
            let code: String = r.try_get(1)?;
            let reason: String = r.try_get(2)?;
            let reason = TombstoneReason::parse(&reason)
                .ok_or_else(|| DbError::Corrupt(format!("tombstone reason '{reason}'")))?;
            items.push((
                seq_u(r.try_get(0)?),
                ChangeJson::Other(Change::Tombstone {
                    code: parse_code(&code)?,
                    reason,
                }),
            ));
        }
    }

    let rows = tx
        .query(
            "SELECT seq, record_id, decision, comment, reviewer, reviewed_at FROM review_outcomes
             WHERE username = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&p.username, &after, &fetch],
        )
        .await?;
    for r in &rows {
        let record: String = r.try_get(1)?;
        let decision: String = r.try_get(2)?;
        let decision = ReviewDecision::parse(&decision)
            .ok_or_else(|| DbError::Corrupt(format!("review decision '{decision}'")))?;
        items.push((
            seq_u(r.try_get(0)?),
            ChangeJson::Other(Change::Review {
                outcome: ReviewOutcome {
                    record: parse_record_id(&record)?,
                    decision,
                    comment: r.try_get(3)?,
                    reviewer: WorkerId(r.try_get(4)?),
                    reviewed_at: r.try_get(5)?,
                },
            }),
        ));
    }
    tx.commit().await?;
    Ok(merge_page(items, p.limit as usize))
}

pub async fn add_review(c: &mut Client, o: &ReviewOutcome) -> Result<Option<u64>, DbError> {
    let tx = c.transaction().await?;
    let id = o.record.to_string();
    let Some(row) = tx
        .query_opt("SELECT username FROM records WHERE record_id = $1", &[&id])
        .await?
    else {
        return Ok(None);
    };
    let username: String = row.try_get(0)?;
    let seq = allocate_seqs(&tx, 1).await?;
    tx.execute(
        "INSERT INTO review_outcomes (seq, record_id, username, decision, comment, reviewer,
             reviewed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &seq_i(seq),
            &id,
            &username,
            &o.decision.as_str(),
            &o.comment,
            &o.reviewer.as_str(),
            &o.reviewed_at,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(Some(seq))
}

pub async fn conflicts(c: &Client, scope: &Scope) -> Result<Vec<ConflictView>, DbError> {
    let (pred, scope_val) = scope_sql(scope, "b.", "$1::text");
    let rows = c
        .query(
            &format!(
                "SELECT k.id, k.record_id, k.building_code, k.field, k.seen, k.proposed,
                        k.current, r.username, r.device_id, k.created_at
                 FROM conflicts k
                 JOIN records r ON r.record_id = k.record_id
                 JOIN buildings b ON b.code = k.building_code
                 WHERE {pred} ORDER BY k.id"
            ),
            &[&scope_val],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let record: String = r.try_get(1)?;
        let code: String = r.try_get(2)?;
        let field: String = r.try_get(3)?;
        let device: String = r.try_get(8)?;
        out.push(ConflictView {
            id: r.try_get(0)?,
            record: parse_record_id(&record)?,
            building: parse_code(&code)?,
            field: BuildingField::parse(&field)
                .ok_or_else(|| DbError::Corrupt(format!("field '{field}'")))?,
            seen: r.try_get(4)?,
            proposed: r.try_get(5)?,
            current: r.try_get(6)?,
            worker: WorkerId(r.try_get(7)?),
            device: parse_device(&device)?,
            received_at: r.try_get(9)?,
        });
    }
    Ok(out)
}
