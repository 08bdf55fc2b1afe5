/* placeholder: replaced by the lab */
