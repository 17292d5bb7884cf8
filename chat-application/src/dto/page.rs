use serde::{Deserialize, Serialize};

/// One page of a cursor-paginated list. Pass `nextCursor` back (as `before`/`after`/`cursor`, as the list
/// says) to get the following page; it is `None` when there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PageDto<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Whether more items follow.
    pub has_more: bool,
    /// Opaque cursor for the next page.
    pub next_cursor: Option<String>,
}
