//! The format-neutral report model: `Report = meta + blocks + datasets`.
//!
//! Document formats (Markdown, HTML, PDF, DOCX) read the blocks in order;
//! data formats (CSV, JSON, XLSX, JSONL) read the datasets, and the JSON
//! forms the typed [`Sections`](crate::sections::Sections) too.
//! Every renderer matches every variant here, so a new block kind shows up
//! as a compile error wherever it needs handling.

use serde::Serialize;

use crate::gate::RedactionSummary;
use crate::input::{DataProvenance, Timestamp};
pub use crate::rows::{RowIter, RowSource, Rows};
use crate::text::Text;

macro_rules! kinds {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $slug:literal, $title:literal, $tier:ident;)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub enum $name {
            $(#[doc = $title] #[serde(rename = $slug)] $variant,)+
        }
        impl $name {
            /// Every kind, in catalog order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The kind's slug, used in file names and the CLI.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $slug,)+ }
            }
            /// Human title.
            pub fn title(self) -> &'static str {
                match self { $($name::$variant => $title,)+ }
            }
            /// Catalog tier.
            pub fn tier(self) -> Tier {
                match self { $($name::$variant => Tier::$tier,)+ }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL.iter().copied().find(|k| k.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = $name::ALL.iter().map(|k| k.as_str()).collect();
                    format!("unknown report kind `{s}` (known: {})", names.join(", "))
                })
            }
        }
    };
}

kinds! {
    /// A posture report kind: built from an activity snapshot.
    ReportKind {
    ExecutiveRiskBrief => "executive-risk-brief", "Executive risk brief", Community;
    BoardKpiPack => "board-kpi-pack", "Board KPI pack", Community;
    Soc2AuditSummary => "soc2-audit-summary", "SOC 2-style audit summary", Community;
    ControlCoverage => "control-coverage", "Control coverage", Community;
    EvidenceFreshness => "evidence-freshness", "Evidence freshness", Community;
    AgentRiskRegister => "agent-risk-register", "Agent risk register", Community;
    IncidentPacket => "incident-packet", "Incident packet", Enterprise;
    ExceptionReport => "exception-report", "Exception report", Enterprise;
    PolicyDriftReport => "policy-drift-report", "Policy drift report", Enterprise;
    AgentActivityDigest => "agent-activity-digest", "Agent activity digest", Enterprise;
}}

kinds! {
    /// An operations report kind: the report center's report on itself,
    /// built from an operations snapshot (`cavra.ops_snapshot.v1`).
    OpsKind {
    ReportCenterKpis => "report-center-kpis", "Report center KPIs", Enterprise;
    DeliveryOperationsDashboard => "delivery-operations-dashboard", "Delivery operations dashboard", Enterprise;
    EvidenceRoomAccess => "evidence-room-access", "Evidence-room access log", Enterprise;
    AlertOperationsDashboard => "alert-operations-dashboard", "Alert operations dashboard", Enterprise;
    AlertDrilldown => "alert-drilldown", "Alert drilldown", Enterprise;
    AlertRemediationPlan => "alert-remediation-plan", "Alert remediation plan", Enterprise;
    AlertRemediationClosure => "alert-remediation-closure", "Alert remediation closure", Enterprise;
    RemediationClosureDashboard => "remediation-closure-dashboard", "Remediation closure dashboard", Enterprise;
    RemediationExecutiveDigest => "remediation-executive-digest", "Remediation executive digest", Enterprise;
    IncidentClosure => "incident-closure", "Incident closure", Enterprise;
    ExceptionLifecycle => "exception-lifecycle", "Exception lifecycle", Enterprise;
}}

/// Any report kind: a posture kind or an operations kind.
///
/// ```
/// use cavra_model::report::{Kind, OpsKind, ReportKind};
/// let k: Kind = "report-center-kpis".parse().unwrap();
/// assert_eq!(k, Kind::Operations(OpsKind::ReportCenterKpis));
/// assert_eq!(Kind::from(ReportKind::BoardKpiPack).as_str(), "board-kpi-pack");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Built from an activity snapshot.
    Posture(ReportKind),
    /// Built from an operations snapshot.
    Operations(OpsKind),
}

impl Kind {
    /// The slug.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Posture(k) => k.as_str(),
            Kind::Operations(k) => k.as_str(),
        }
    }
    /// Human title.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Posture(k) => k.title(),
            Kind::Operations(k) => k.title(),
        }
    }
    /// Catalog tier.
    pub fn tier(self) -> Tier {
        match self {
            Kind::Posture(k) => k.tier(),
            Kind::Operations(k) => k.tier(),
        }
    }
}

impl From<ReportKind> for Kind {
    fn from(k: ReportKind) -> Kind {
        Kind::Posture(k)
    }
}

impl From<OpsKind> for Kind {
    fn from(k: OpsKind) -> Kind {
        Kind::Operations(k)
    }
}

impl PartialEq<ReportKind> for Kind {
    fn eq(&self, other: &ReportKind) -> bool {
        *self == Kind::Posture(*other)
    }
}

impl PartialEq<OpsKind> for Kind {
    fn eq(&self, other: &OpsKind) -> bool {
        *self == Kind::Operations(*other)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(k) = s.parse::<ReportKind>() {
            return Ok(Kind::Posture(k));
        }
        s.parse::<OpsKind>().map(Kind::Operations).map_err(|_| {
            let names: Vec<&str> =
                ReportKind::ALL.iter().map(|k| k.as_str()).chain(OpsKind::ALL.iter().map(|k| k.as_str())).collect();
            format!("unknown report kind `{s}` (known: {})", names.join(", "))
        })
    }
}

/// Catalog tier of a report kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Included in every edition.
    Community,
    /// Enterprise edition.
    Enterprise,
}

/// Handling classification printed on every report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// May be shared publicly.
    Public,
    /// Internal use.
    Internal,
    /// Named audiences only.
    Confidential,
}

impl Classification {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Public => "public",
            Classification::Internal => "internal",
            Classification::Confidential => "confidential",
        }
    }
}

/// Report metadata.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportMeta {
    /// Stable id derived from the kind and the snapshot's content.
    pub report_id: String,
    /// Kind.
    pub kind: Kind,
    /// Title.
    pub title: String,
    /// Schema id of the JSON form.
    pub schema_version: String,
    /// Tenant reference.
    pub tenant_ref: String,
    /// Tenant display name.
    pub tenant_display_name: String,
    /// The snapshot's `as_of` (never the wall clock).
    pub generated_at: Timestamp,
    /// Window start (`None`: from the beginning of the data).
    pub window_start: Option<Timestamp>,
    /// Window end.
    pub window_end: Timestamp,
    /// Intended audience.
    pub audience: String,
    /// Handling classification.
    pub classification: Classification,
    /// Branding line.
    pub branding: String,
    /// Legal footer.
    pub legal_footer: String,
    /// Data provenance.
    pub data_provenance: DataProvenance,
    /// What the safety gate redacted.
    pub redaction: RedactionSummary,
    /// Data-quality warnings.
    pub data_quality: Vec<String>,
    /// sha256 of the snapshot's canonical content.
    pub snapshot_digest: String,
}

/// A report: metadata, the kind's typed sections (the top-level keys of
/// its JSON form, in contract order), reading-order blocks and typed
/// datasets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Metadata.
    pub meta: ReportMeta,
    /// The kind's typed sections.
    pub sections: crate::sections::Sections,
    /// Document blocks in reading order.
    pub blocks: Vec<Block>,
    /// Named tables; the first is the primary one (the CSV form).
    pub datasets: Vec<Dataset>,
    /// How renderers present the report (not part of its data or JSON).
    #[serde(skip)]
    pub theme: crate::theme::Theme,
}

impl ReportMeta {
    /// The reporting window as text: `<start> to <end>`, or `up to <end>`.
    ///
    /// ```
    /// # use cavra_model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
    /// # let text = r#"{"schema_version":"cavra.activity_snapshot.v1",
    /// #   "tenant":{"ref":"tenant:demo","display_name":"Demo","timezone":"UTC"},
    /// #   "as_of":"2026-11-01T00:00:00Z","sessions":[],"decisions":[]}"#;
    /// # let s = Snapshot::from_json_str(text, &LoadOptions::default()).unwrap();
    /// # let r = build_report(ReportKind::ControlCoverage, &s, &Posture::compute(&s), &ReportOptions::default());
    /// assert_eq!(r.meta.window_label(), "up to 2026-11-01T00:00:00Z");
    /// ```
    pub fn window_label(&self) -> String {
        match self.window_start {
            Some(start) => format!("{start} to {}", self.window_end),
            None => format!("up to {}", self.window_end),
        }
    }
}

/// The reporting window in `theme`'s time zone.
pub(crate) fn window_label(theme: &crate::theme::Theme, meta: &ReportMeta) -> String {
    match meta.window_start {
        Some(start) => format!("{} to {}", theme.show_time(start), theme.show_time(meta.window_end)),
        None => format!("up to {}", theme.show_time(meta.window_end)),
    }
}

impl Report {
    /// The reporting window as documents show it (in the theme's time zone).
    pub fn window_label(&self) -> String {
        window_label(&self.theme, &self.meta)
    }

    /// A cell as documents show it: instants in the theme's time zone.
    pub fn cell_text(&self, cell: &Cell) -> String {
        match cell {
            Cell::DateTime(t) => self.theme.show_time(*t),
            Cell::Null | Cell::Text(_) | Cell::Integer(_) | Cell::Decimal(_) => cell.to_text(),
        }
    }

    /// Looks a dataset up by name.
    pub fn dataset(&self, name: &str) -> Option<&Dataset> {
        self.datasets.iter().find(|d| d.name == name)
    }

    /// Checks that every table block names a dataset the report has, and
    /// only columns (and a filter column) that dataset has, and that every
    /// held row has one cell per column. Every builder's report passes this
    /// when it is built, and the renderers refuse a hand-made report that
    /// does not, so a reference or row a backend could not resolve never
    /// reaches one.
    ///
    /// ```
    /// # use cavra_model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
    /// # use cavra_model::report::Block;
    /// # let text = r#"{"schema_version":"cavra.activity_snapshot.v1",
    /// #   "tenant":{"ref":"tenant:demo","display_name":"Demo","timezone":"UTC"},
    /// #   "as_of":"2026-11-01T00:00:00Z","sessions":[],"decisions":[]}"#;
    /// # let s = Snapshot::from_json_str(text, &LoadOptions::default()).unwrap();
    /// let mut r = build_report(ReportKind::ControlCoverage, &s, &Posture::compute(&s), &ReportOptions::default());
    /// assert!(r.check_tables().is_ok());
    /// if let Some(Block::Table(t)) = r.blocks.iter_mut().find(|b| matches!(b, Block::Table(_))) {
    ///     t.columns.push("no_such_column".into());
    /// }
    /// assert!(r.check_tables().unwrap_err().contains("no_such_column"));
    ///
    /// let mut r = build_report(ReportKind::ControlCoverage, &s, &Posture::compute(&s), &ReportOptions::default());
    /// r.datasets[0].rows = vec![vec![]].into(); // a row of no cells
    /// assert!(r.check_tables().unwrap_err().contains("has 0 cells"));
    /// ```
    ///
    /// # Errors
    /// The first reference that does not resolve, or the first row of the
    /// wrong width.
    pub fn check_tables(&self) -> Result<(), String> {
        for d in &self.datasets {
            if let Rows::Held(rows) = &d.rows {
                if let Some(i) = rows.iter().position(|r| r.len() != d.columns.len()) {
                    return Err(format!(
                        "row {i} of dataset `{}` has {} cells for {} columns",
                        d.name,
                        rows[i].len(),
                        d.columns.len()
                    ));
                }
            }
        }
        for block in &self.blocks {
            let Block::Table(t) = block else { continue };
            let d = self.dataset(&t.dataset).ok_or_else(|| format!("a table names no dataset `{}`", t.dataset))?;
            let has = |key: &str| d.columns.iter().any(|c| c.key == key);
            let filter = t.filter.as_ref().map(|f| f.column.as_str());
            if let Some(missing) = t.columns.iter().map(String::as_str).chain(filter).find(|k| !has(k)) {
                return Err(format!("a table of `{}` names no column `{missing}`", t.dataset));
            }
        }
        Ok(())
    }

    /// Resolves a table block: its dataset, columns, filtered and capped rows.
    /// `None` when the block names a dataset the report does not have.
    pub fn table_view(&self, t: &TableRef) -> Option<TableView<'_>> {
        let dataset = self.dataset(&t.dataset)?;
        let picked: Vec<usize> = if t.columns.is_empty() {
            (0..dataset.columns.len()).collect()
        } else {
            t.columns.iter().filter_map(|k| dataset.columns.iter().position(|c| &c.key == k)).collect()
        };
        let filter_col = t.filter.as_ref().map(|f| (dataset.columns.iter().position(|c| c.key == f.column), &f.equals));
        let cap = t.max_rows.unwrap_or(usize::MAX);
        let pick = |row: &[Cell]| picked.iter().map(|i| row[*i].clone()).collect::<Vec<Cell>>();
        if filter_col.is_none() {
            // Without a filter only the shown rows are made: a derived
            // dataset of 1,000,000 rows is not walked for a 50-row table.
            let total = dataset.rows.len();
            let rows = dataset.rows.iter().take(cap).map(|row| pick(&row)).collect();
            return Some(TableView {
                dataset,
                columns: picked.iter().map(|i| &dataset.columns[*i]).collect(),
                rows,
                total,
                filtered_on: None,
            });
        }
        let (mut rows, mut total) = (Vec::new(), 0usize);
        for row in &dataset.rows {
            let keep = match &filter_col {
                None => true,
                Some((Some(i), want)) => row[*i].to_text() == **want,
                Some((None, _)) => false,
            };
            if keep {
                total += 1;
                if rows.len() < cap {
                    rows.push(pick(&row));
                }
            }
        }
        let filtered_on = match filter_col {
            Some((Some(i), _)) if !picked.contains(&i) => Some(&dataset.columns[i]),
            _ => None,
        };
        Some(TableView {
            dataset,
            columns: picked.iter().map(|i| &dataset.columns[*i]).collect(),
            rows,
            total,
            filtered_on,
        })
    }
}

/// Tone of a callout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    /// Neutral information.
    Info,
    /// Needs attention.
    Warning,
    /// Needs action now.
    Critical,
}

/// One key figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpi {
    /// Label.
    pub label: String,
    /// Value, formatted.
    pub value: String,
    /// Short explanation.
    pub note: String,
}

/// Chart kinds; charts are data, not pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// Bars per category.
    Bar,
    /// Values over ordered categories.
    Line,
    /// Shares of a whole.
    Donut,
    /// Rows × columns of scores 0–100.
    HeatMap,
}

/// A named series of values aligned with the chart's categories.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// Series name (a heat-map row label).
    pub name: String,
    /// One value per category.
    pub values: Vec<f64>,
}

/// A chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    /// Kind.
    pub kind: ChartKind,
    /// Title.
    pub title: String,
    /// Category labels (x axis, donut slices, heat-map columns).
    pub categories: Vec<String>,
    /// Series.
    pub series: Vec<Series>,
}

/// A unit of a document's reading order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// A heading, level 1–3.
    Heading {
        /// Level.
        level: u8,
        /// Text.
        text: String,
    },
    /// A paragraph of plain text.
    Paragraph {
        /// Text.
        text: String,
    },
    /// Key figures shown as tiles.
    Kpis {
        /// Tiles.
        items: Vec<Kpi>,
    },
    /// A highlighted note.
    Callout {
        /// Tone.
        tone: Tone,
        /// Text.
        text: String,
    },
    /// A bulleted or numbered list.
    List {
        /// Numbered.
        ordered: bool,
        /// Items.
        items: Vec<String>,
    },
    /// A chart.
    Chart(Chart),
    /// A dataset (or a filtered part of one) shown as a table.
    Table(TableRef),
}

/// Which rows and columns of a dataset a document shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableRef {
    /// Dataset name.
    pub dataset: String,
    /// Row cap in documents; the data formats always hold every row.
    pub max_rows: Option<usize>,
    /// Column keys to show, in order; empty shows every column.
    pub columns: Vec<String>,
    /// Only rows whose `column` holds exactly `equals` (as text).
    pub filter: Option<RowFilter>,
}

/// A row filter: keep rows whose `column` cell, as text, equals `equals`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowFilter {
    /// Column key.
    pub column: String,
    /// Required text value.
    pub equals: String,
}

/// The rows and columns a [`TableRef`] selects, ready to lay out.
#[derive(Debug, Clone, PartialEq)]
pub struct TableView<'a> {
    /// The dataset.
    pub dataset: &'a Dataset,
    /// Selected columns, in display order.
    pub columns: Vec<&'a Column>,
    /// Selected rows (after filter and cap), each with the selected cells.
    pub rows: Vec<Vec<Cell>>,
    /// Rows matching the filter before the cap.
    pub total: usize,
    /// The column the rows are filtered on, when the view leaves it out
    /// (every shown row holds the same value there, so it hides nothing).
    pub filtered_on: Option<&'a Column>,
}

impl TableView<'_> {
    /// Whether the cap hid rows.
    pub fn truncated(&self) -> bool {
        self.rows.len() < self.total
    }
}

/// Column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Free text.
    Text,
    /// Whole number.
    Integer,
    /// Number with fractional part.
    Decimal,
    /// Whole percentage points 0–100.
    Percent,
    /// RFC 3339 instant.
    DateTime,
    /// A severity or level name.
    Severity,
    /// A status name.
    Status,
}

impl ColumnType {
    /// Whether cells are numbers (never neutralised as formulas).
    pub fn is_numeric(self) -> bool {
        match self {
            ColumnType::Integer | ColumnType::Decimal | ColumnType::Percent => true,
            ColumnType::Text | ColumnType::DateTime | ColumnType::Severity | ColumnType::Status => false,
        }
    }
}

/// A column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    /// Machine key (CSV header, JSON key).
    pub key: String,
    /// Human label.
    pub label: String,
    /// Type.
    #[serde(rename = "type")]
    pub ty: ColumnType,
}

/// A cell value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    /// No value.
    Null,
    /// Text (shared with the snapshot where it comes from one).
    Text(Text),
    /// Whole number.
    Integer(i64),
    /// Decimal number.
    Decimal(f64),
    /// Instant.
    DateTime(Timestamp),
}

impl Cell {
    /// The cell as display text (empty for null).
    pub fn to_text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Text(s) => s.to_string(),
            Cell::Integer(i) => i.to_string(),
            Cell::Decimal(d) => format!("{d:.2}"),
            Cell::DateTime(t) => t.to_string(),
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.into())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s.into())
    }
}
impl From<Text> for Cell {
    fn from(s: Text) -> Self {
        Cell::Text(s)
    }
}
impl From<&Text> for Cell {
    fn from(s: &Text) -> Self {
        Cell::Text(s.clone())
    }
}
impl From<usize> for Cell {
    fn from(n: usize) -> Self {
        Cell::Integer(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Integer(n)
    }
}
impl From<Timestamp> for Cell {
    fn from(t: Timestamp) -> Self {
        Cell::DateTime(t)
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Null, Into::into)
    }
}

/// A row type that is its own dataset definition: one column list and one
/// way to turn a value into cells, so a section that holds these values
/// and the dataset that tabulates them say each fact once in code.
///
/// ```
/// use cavra_model::report::{Cell, ColumnType, Dataset, TableRow};
/// struct Agent { id: String, sessions: usize }
/// impl TableRow for Agent {
///     const COLUMNS: &'static [(&'static str, &'static str, ColumnType)] =
///         &[("agent_id", "Agent", ColumnType::Text), ("sessions", "Sessions", ColumnType::Integer)];
///     fn cells(&self) -> Vec<Cell> {
///         vec![self.id.as_str().into(), self.sessions.into()]
///     }
/// }
/// let rows = [Agent { id: "agent-a".into(), sessions: 3 }];
/// let d = Dataset::from_rows("agents", "Agents", &rows);
/// assert_eq!(d.columns[1].key, "sessions");
/// assert_eq!(d.rows.get(0).unwrap()[1], Cell::Integer(3));
/// ```
pub trait TableRow {
    /// `(key, label, type)` of every column, in order.
    const COLUMNS: &'static [(&'static str, &'static str, ColumnType)];
    /// One cell per column of [`TableRow::COLUMNS`].
    fn cells(&self) -> Vec<Cell>;
}

/// A named table with typed columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dataset {
    /// Name (file-name safe).
    pub name: String,
    /// Title.
    pub title: String,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows; each has one cell per column.
    pub rows: Rows,
    /// The section (a top-level key of the JSON form) that already holds
    /// these rows: an array of objects with at least these columns' keys
    /// (a list there is a `; `-joined cell here), or, for a dataset of
    /// `metric` and `value` columns, an object whose whole-number entries
    /// are the rows, in the JSON form's key order (its other entries are
    /// not rows; the canonical signed form sorts the keys). The JSON form then names it (`rows_in`) instead of
    /// repeating the rows, so each fact is written once. Flat formats still
    /// carry the rows.
    pub rows_in: Option<&'static str>,
}

impl Dataset {
    /// An empty dataset with the given `(key, label, type)` columns.
    ///
    /// ```
    /// use cavra_model::report::{ColumnType, Dataset};
    /// let mut d = Dataset::new("agents", "Agents", &[("agent_id", "Agent", ColumnType::Text)]);
    /// d.push(vec!["agent-a".into()]);
    /// assert_eq!(d.rows.len(), 1);
    /// ```
    pub fn new(name: &str, title: &str, columns: &[(&str, &str, ColumnType)]) -> Dataset {
        Dataset {
            name: name.into(),
            title: title.into(),
            columns: columns.iter().map(|(k, l, t)| Column { key: (*k).into(), label: (*l).into(), ty: *t }).collect(),
            rows: Rows::default(),
            rows_in: None,
        }
    }

    /// A dataset of `rows`, its columns from the row type.
    pub fn from_rows<'a, R: TableRow + 'a>(name: &str, title: &str, rows: impl IntoIterator<Item = &'a R>) -> Dataset {
        let mut d = Dataset::new(name, title, R::COLUMNS);
        d.rows = Rows::Held(rows.into_iter().map(TableRow::cells).collect());
        d
    }

    /// Marks the dataset as held by the JSON section `key` (see
    /// [`Dataset::rows_in`]).
    pub fn held_in(mut self, key: &'static str) -> Dataset {
        self.rows_in = Some(key);
        self
    }

    /// Appends a row.
    ///
    /// # Panics
    /// When the row's length differs from the column count: a builder bug,
    /// never caused by input.
    pub fn push(&mut self, row: Vec<Cell>) {
        assert_eq!(row.len(), self.columns.len(), "row width must match dataset `{}`", self.name);
        self.rows.push(row);
    }
}
