//! Spoken forms of semiotic classes (numbers, money, measures, dates, times, ...), each
//! recognizing one already delimited span and verbalizing it the way NeMo does.
