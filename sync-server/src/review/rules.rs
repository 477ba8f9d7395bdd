//! When a decision may be recorded (ADR 0020).
//!
//! - A **pending** report may be approved or sent back.
//! - A **sent-back** report may be decided again until its correction arrives: the supervisor may
//!   reword the send-back or withdraw it by approving. Each new decision reaches the phone, which
//!   keeps the latest.
//! - **Approved** is final: a problem found later is handled by a new inspection, not by reopening
//!   a report the worker was told is done.
//! - **Resubmitted** (a correction naming the report arrived) is closed: the correction replaces it
//!   and is reviewed in its own right.
//! - Repeating the latest decision word for word changes nothing and is not an error (a retried
//!   request), even on a closed report.
//! - A send-back needs a comment: it is all the worker sees of what to fix.

use gridwalk_core::protocol::{ReviewDecision, ReviewOutcome, ReviewState};

/// Why a decision is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewRefusal {
    #[error("the report is {}; its review is closed", .0.as_str())]
    Closed(ReviewState),
    #[error("a send-back needs a comment telling the worker what to fix")]
    CommentRequired,
    #[error("the comment is {len} characters; at most {max}")]
    CommentTooLong { len: usize, max: usize },
}

/// What to do with an allowed decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Record it as a new outcome (it reaches the phone on its next pull).
    Record,
    /// The same decision is already the latest: nothing to record.
    Unchanged,
}

/// The comment as stored: trimmed, required for a send-back, at most `max_chars` characters.
pub fn clean_comment(
    decision: ReviewDecision,
    comment: &str,
    max_chars: usize,
) -> Result<String, ReviewRefusal> {
    let c = comment.trim();
    let len = c.chars().count();
    if len > max_chars {
        return Err(ReviewRefusal::CommentTooLong {
            len,
            max: max_chars,
        });
    }
    if decision == ReviewDecision::SentBack && c.is_empty() {
        return Err(ReviewRefusal::CommentRequired);
    }
    Ok(c.to_owned())
}

/// Whether `decision` with `comment` may be recorded on a report in `state` whose latest
/// decision is `latest`.
pub fn judge(
    state: ReviewState,
    latest: Option<&ReviewOutcome>,
    decision: ReviewDecision,
    comment: &str,
) -> Result<Verdict, ReviewRefusal> {
    if latest.is_some_and(|l| l.decision == decision && l.comment == comment) {
        return Ok(Verdict::Unchanged);
    }
    match state {
        ReviewState::Pending | ReviewState::SentBack => Ok(Verdict::Record),
        ReviewState::Approved | ReviewState::Resubmitted => Err(ReviewRefusal::Closed(state)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_core::{RecordId, WorkerId};

    fn outcome(decision: ReviewDecision, comment: &str) -> ReviewOutcome {
        ReviewOutcome {
            record: RecordId::new(),
            decision,
            comment: comment.into(),
            reviewer: WorkerId::from("supervisor-S01"),
            reviewed_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn pending_and_sent_back_are_open_approved_and_resubmitted_are_closed() {
        use ReviewDecision::{Approved, SentBack};
        use ReviewState as S;
        assert_eq!(judge(S::Pending, None, Approved, ""), Ok(Verdict::Record));
        assert_eq!(judge(S::Pending, None, SentBack, "x"), Ok(Verdict::Record));

        let sent = outcome(SentBack, "photo missing");
        assert_eq!(
            judge(S::SentBack, Some(&sent), SentBack, "photo missing"),
            Ok(Verdict::Unchanged)
        );
        assert_eq!(
            judge(
                S::SentBack,
                Some(&sent),
                SentBack,
                "photo of floor 3 missing"
            ),
            Ok(Verdict::Record)
        );
        assert_eq!(
            judge(S::SentBack, Some(&sent), Approved, ""),
            Ok(Verdict::Record)
        );

        let ok = outcome(Approved, "");
        assert_eq!(
            judge(S::Approved, Some(&ok), Approved, ""),
            Ok(Verdict::Unchanged)
        );
        assert_eq!(
            judge(S::Approved, Some(&ok), SentBack, "late doubt"),
            Err(ReviewRefusal::Closed(S::Approved))
        );
        assert_eq!(
            judge(S::Resubmitted, Some(&sent), Approved, ""),
            Err(ReviewRefusal::Closed(S::Resubmitted))
        );
        assert_eq!(
            judge(S::Resubmitted, Some(&sent), SentBack, "photo missing"),
            Ok(Verdict::Unchanged)
        );
        assert_eq!(
            ReviewRefusal::Closed(S::Resubmitted).to_string(),
            "the report is resubmitted; its review is closed"
        );
    }

    #[test]
    fn comments_are_trimmed_required_for_send_back_and_bounded() {
        use ReviewDecision::{Approved, SentBack};
        assert_eq!(
            clean_comment(SentBack, "  fix it \n", 10),
            Ok("fix it".into())
        );
        assert_eq!(
            clean_comment(SentBack, "   ", 10),
            Err(ReviewRefusal::CommentRequired)
        );
        assert_eq!(clean_comment(Approved, "", 10), Ok(String::new()));
        assert_eq!(
            clean_comment(Approved, "消防通道照片缺失", 5),
            Err(ReviewRefusal::CommentTooLong { len: 8, max: 5 })
        );
    }
}
