//! Behaviour tests against values taken from the NeMo reference goldens.

use super::*;
