#[allow(unused_imports)]
use crate::common as _c;
