/* placeholder: replaced by the scorer */
