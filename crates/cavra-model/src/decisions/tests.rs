use super::*;
use crate::posture::tests_support::decision;

#[test]
fn stored_decisions_give_back_what_went_in() {
    let mut a = decision();
    a.evidence_refs = vec!["r-1".into(), "r-2".into()];
    a.tool = Some("mcp.fetch".into());
    let mut b = decision();
    b.decision_id = "d-2".into();
    b.approval_route = Some("owners".into());
    b.x_extensions = Some(crate::input::Extensions);
    let c = decision(); // no evidence refs
    let decisions = Decisions::from(vec![a.clone(), b.clone(), c.clone()]);
    assert_eq!(decisions.to_vec(), vec![a, b, c]);
    assert_eq!(decisions.get(0).unwrap().evidence_refs().len(), 2);
    assert_eq!(decisions.get(2).unwrap().evidence_refs().len(), 0);
    assert!(decisions.get(3).is_none());
    assert_eq!(decisions.iter().next_back().unwrap().index(), 2);
    assert_eq!(decisions.share(1).unwrap().get().decision_id(), "d-2");
    assert!(decisions.share(3).is_none());
}

#[test]
fn repeated_fields_are_stored_once() {
    let decisions: Decisions = (0..100)
        .map(|i| {
            let mut d = decision();
            d.decision_id = format!("d-{i}");
            d
        })
        .collect();
    let (x, y) = (decisions.get(0).unwrap(), decisions.get(99).unwrap());
    assert!(Text::ptr_eq(x.agent_id(), y.agent_id()));
    assert_eq!(decisions.0.symbols.len(), 10, "ten distinct texts among the shared fields");
    assert_eq!(y.decision_id(), "d-99");
}

#[test]
fn noted_ids_catch_duplicates_exactly() {
    let mut b = DecisionsBuilder::default();
    for i in 0..1000 {
        assert!(b.note_id(&format!("id-{i}")).unwrap());
    }
    assert!(!b.note_id("id-999").unwrap());
    assert!(!b.note_id("id-0").unwrap());
    assert!(b.note_id("id-1000").unwrap());
    assert!(b.note_id("").unwrap());
    assert!(!b.note_id("").unwrap());
    assert!(b.is_empty());
}

#[test]
fn a_stored_decision_serialises_as_the_record() {
    let mut a = decision();
    a.evidence_refs = vec!["r-1".into()];
    a.approval_route = Some("owners".into());
    let b = decision();
    let decisions = Decisions::from(vec![a.clone(), b.clone()]);
    for (stored, held) in decisions.iter().zip([a, b]) {
        assert_eq!(serde_json::to_string(&stored).unwrap(), serde_json::to_string(&held).unwrap());
    }
    assert_eq!(serde_json::to_string(&decisions).unwrap(), serde_json::to_string(&decisions.to_vec()).unwrap());
}

#[test]
fn spans_keep_forty_bits_of_start_and_twenty_four_of_length() {
    let s = Span::new((1 << 40) - 1, (1 << 24) - 1).unwrap();
    assert_eq!(s.range(), (1 << 40) - 1..(1 << 40) - 1 + (1 << 24) - 1);
    assert_eq!(Span::new(5, 3).unwrap().range(), 5..8);
    assert!(Span::new(1 << 40, 0).is_err());
    assert!(Span::new(0, 1 << 24).is_err());
}

#[test]
fn a_noted_id_is_stored_once() {
    let mut b = DecisionsBuilder::default();
    let d = decision();
    assert!(b.note_id(&d.decision_id).unwrap());
    b.push(&d).unwrap();
    assert_eq!(b.store.bytes, "d-1", "the id noted for duplicates is the one the record shows");
    let mut gated = decision();
    gated.decision_id = "d-2".into();
    assert!(b.note_id("d-2 raw").unwrap());
    b.push(&gated).unwrap(); // the gate changed the id after it was noted
    let decisions = b.finish();
    assert_eq!(decisions.get(1).unwrap().decision_id(), "d-2");
}

#[test]
fn a_view_knows_its_position() {
    let decisions: Decisions = (0..5).map(|_| decision()).collect();
    assert_eq!(decisions.iter().map(|d| d.index()).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    assert_eq!(decisions.get(3).unwrap().index(), 3);
    assert_eq!(std::mem::size_of::<DecisionRef<'_>>(), 16);
}

#[test]
fn a_record_is_small() {
    assert!(std::mem::size_of::<Record>() <= 84, "{}", std::mem::size_of::<Record>());
}
