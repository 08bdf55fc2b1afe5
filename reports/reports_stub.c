/* placeholder: replaced by the reports */
